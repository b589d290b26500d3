/** What a host's phases did, as events and as its summary line (pure builders, one place). */
import type { ShoestringError } from '../errors.ts';
import type { HostSummary, Reporter } from './events.ts';
import type { Phase } from './phase.ts';
import type { Change, Notify } from './steps/types.ts';
import type { Target } from '../ssh/target.ts';

/**
 * One `change` event per restart finished for an interrupted run and per change, prefixed with
 * the server they ran on when that is not the host (`on s1: …`). `diffOf` adds a dry run's diff.
 */
export function reportChanges(
  reporter: Reporter,
  host: Target,
  phase: Phase,
  pending: readonly Notify[],
  changes: readonly Change[],
  diffOf: (c: Change) => string | undefined = () => undefined,
): void {
  const where = phase.on ? `on ${phase.on.name}: ` : '';
  const event = (summary: string, diff?: string) =>
    reporter.event({
      type: 'change',
      host: host.name,
      phase: phase.title,
      summary: `${where}${summary}`,
      ...(diff ? { diff } : {}),
    });
  for (const n of pending) event(`${n.action} ${n.service} (left pending by an interrupted run)`);
  for (const c of changes) event(c.summary, diffOf(c));
}

/** A host's summary from what its phases did. */
export function hostSummary(
  host: string,
  results: readonly { readonly changes: readonly unknown[]; readonly unchanged: number }[],
  seconds: number,
  error: ShoestringError | undefined,
): HostSummary {
  return {
    host,
    changed: results.reduce((a, r) => a + r.changes.length, 0),
    unchanged: results.reduce((a, r) => a + r.unchanged, 0),
    failed: error !== undefined,
    seconds,
    ...(error ? { error: error.message.replace(`${host}: `, '') } : {}),
  };
}
