/**
 * The executor: for one host, each phase is probed in one round trip, planned purely, and its
 * changes applied in one more (only when there are any). Dry-run is a mode of this executor:
 * it reports the plan (with file diffs) and changes nothing.
 */
import { CommandError, ShoestringError, tail } from '../errors.ts';
import { q } from '../ssh/quote.ts';
import type { Target, Transport } from '../ssh/transport.ts';
import { applyScript, decide, SKIPPED_MARK, type Change } from './decide.ts';
import { fileDiff } from './diffview.ts';
import type { Reporter } from './events.ts';
import { parseFacts, probeScript } from './facts.ts';
import type { FileStep, Phase } from './steps.ts';

export interface PhaseResult {
  readonly phase: string;
  readonly changes: readonly Change[];
  readonly unchanged: number;
}

export interface HostRunOptions {
  readonly dryRun: boolean;
}

/** Phases can be given ready, or computed when the host's turn comes (after earlier phases ran). */
export type PhaseSource = Phase | (() => Promise<Phase[]>);

/** Probes one phase; returns the changes it needs (pure planning on the facts). */
export async function planPhase(
  t: Transport,
  target: Target,
  phase: Phase,
): Promise<{ changes: Change[]; unchanged: number }> {
  if (phase.steps.length === 0) return { changes: [], unchanged: 0 };
  const probe = await t.run(target, probeScript(phase.steps), { what: `${phase.title} › probe` });
  const facts = parseFacts(phase.steps, probe.stdout, target.name);
  const changes: Change[] = [];
  phase.steps.forEach((step, i) => {
    const change = decide(step, facts[i] as (typeof facts)[number]);
    if (change) changes.push(change);
  });
  return { changes, unchanged: phase.steps.length - changes.length };
}

/** Current contents of the files a dry-run would change (one round trip). */
async function currentContents(
  t: Transport,
  target: Target,
  steps: readonly FileStep[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (steps.length === 0) return out;
  const script = steps
    .map(
      (s) =>
        `echo '@@file ${s.path}'; if [ -f ${q(s.path)} ]; then base64 -w0 < ${q(s.path)}; echo; fi`,
    )
    .join('\n');
  const res = await t.run(target, script, { what: 'read files for the diff' });
  let current: string | undefined;
  for (const line of res.stdout.split('\n')) {
    if (line.startsWith('@@file ')) current = line.slice(7);
    else if (current !== undefined && line !== '')
      out.set(current, Buffer.from(line, 'base64').toString('utf8'));
  }
  return out;
}

/** The title of the last step the apply script announced before failing. */
export function failedStepTitle(stderr: string): string | undefined {
  const marks = stderr.split('\n').filter((l) => l.startsWith('@@shoestring-apply '));
  return marks.at(-1)?.slice('@@shoestring-apply '.length);
}

/** Removes the apply markers from stderr text. */
export function stripMarkers(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.startsWith('@@shoestring-apply ') && !l.startsWith(SKIPPED_MARK))
    .join('\n');
}

/** Titles of guarded commands that found their work already done when applying. */
export function skippedTitles(stderr: string): Set<string> {
  return new Set(
    stderr
      .split('\n')
      .filter((l) => l.startsWith(SKIPPED_MARK))
      .map((l) => l.slice(SKIPPED_MARK.length)),
  );
}

export async function runPhase(
  t: Transport,
  target: Target,
  phase: Phase,
  options: HostRunOptions,
  reporter: Reporter,
): Promise<PhaseResult> {
  reporter.event({ type: 'phase', host: target.name, phase: phase.title });
  const { changes, unchanged } = await planPhase(t, target, phase);
  if (changes.length === 0) return { phase: phase.title, changes, unchanged };
  if (options.dryRun) {
    // Only files whose content changes are diffed; secret ones are never read back.
    const fileSteps = changes
      .filter((c) => c.writesContent === true)
      .map((c) => c.step)
      .filter((s): s is FileStep => s.kind === 'file' && s.secret !== true);
    const before = await currentContents(t, target, fileSteps);
    for (const c of changes) {
      const s = c.step;
      const diff =
        s.kind === 'file' && c.writesContent === true
          ? fileDiff(s.path, before.get(s.path), s.content, s.secret === true)
          : undefined;
      reporter.event({
        type: 'change',
        host: target.name,
        phase: phase.title,
        summary: c.summary,
        ...(diff ? { diff } : {}),
      });
    }
    return { phase: phase.title, changes, unchanged };
  }
  const res = await t.run(target, applyScript(changes), { what: phase.title, allowFailure: true });
  if (res.code !== 0) {
    const step = failedStepTitle(res.stderr);
    const stderr = stripMarkers(res.stderr);
    throw new CommandError(
      target.name,
      `${phase.title}${step ? ` › ${step}` : ''}`,
      res.code,
      tail(stderr || res.stdout),
    );
  }
  // A guarded command an earlier step made unnecessary did nothing: not a change.
  const skipped = skippedTitles(res.stderr);
  const made = changes.filter((c) => !(c.step.kind === 'command' && skipped.has(c.step.title)));
  for (const c of made)
    reporter.event({ type: 'change', host: target.name, phase: phase.title, summary: c.summary });
  return { phase: phase.title, changes: made, unchanged: unchanged + changes.length - made.length };
}

export interface HostOutcome {
  readonly results: readonly PhaseResult[];
  readonly error: ShoestringError | undefined;
}

/** Runs every phase on a host in order; stops at the first failure and returns it. */
export async function runHost(
  t: Transport,
  target: Target,
  sources: readonly PhaseSource[],
  options: HostRunOptions,
  reporter: Reporter,
): Promise<HostOutcome> {
  const results: PhaseResult[] = [];
  try {
    for (const source of sources) {
      const phases = typeof source === 'function' ? await source() : [source];
      for (const phase of phases) results.push(await runPhase(t, target, phase, options, reporter));
    }
    return { results, error: undefined };
  } catch (e) {
    if (e instanceof ShoestringError) return { results, error: e };
    return {
      results,
      error: new ShoestringError(`${target.name}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      }),
    };
  }
}
