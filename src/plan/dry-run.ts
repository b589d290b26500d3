/**
 * Dry runs: what a phase would change, reported like real changes, with files as diffs against
 * what the server holds now (read in one round trip; secret files are never read back).
 */
import { q } from '../ssh/quote.ts';
import type { Target } from '../ssh/target.ts';
import type { Transport } from '../ssh/transport.ts';
import { fileDiff } from './diffview.ts';
import type { Reporter } from './events.ts';
import type { Phase } from './phase.ts';
import type { PhasePlan } from './probe.ts';
import { reportChanges } from './report.ts';
import { readSections, section } from './sections.ts';

export async function reportDryRun(
  t: Transport,
  reporter: Reporter,
  host: Target,
  phase: Phase,
  plan: PhasePlan,
): Promise<void> {
  const on = phase.on ?? host;
  const shown = plan.changes.filter((c) => c.content && !c.content.secret);
  const before = await currentContents(
    t,
    on,
    shown.map((c) => c.content?.path ?? ''),
  );
  reportChanges(reporter, host, phase, plan.pending, plan.changes, (c) =>
    c.content
      ? fileDiff(c.content.path, before.get(c.content.path), c.content.text, c.content.secret)
      : undefined,
  );
}

/** Current contents of files (one round trip); secret files are never asked for. */
async function currentContents(
  t: Transport,
  on: Target,
  paths: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  const script = paths
    .map(
      (p, i) => `${section(`file:${i}`)}\nif [ -f ${q(p)} ]; then base64 -w0 < ${q(p)}; echo; fi`,
    )
    .join('\n');
  const res = await t.run(on, script, { what: 'read files for the diff' });
  const sections = readSections(res.stdout);
  paths.forEach((p, i) => {
    const lines = sections.get(`file:${i}`);
    if (lines && lines.length > 0)
      out.set(p, Buffer.from(lines.join(''), 'base64').toString('utf8'));
  });
  return out;
}
