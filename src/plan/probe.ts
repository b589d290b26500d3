/**
 * Probing and planning: one read-only script probes any number of phases (one round trip per
 * host), and a pure function turns its output into each phase's changes, including restarts and
 * reloads an interrupted run left pending on the server.
 */
import { FactError } from '../errors.ts';
import { q } from '../ssh/quote.ts';
import { readSections, section } from './sections.ts';
import { decideStep, notifiesOf, parseStep, probeStep, unitsOf, type Step } from './steps/index.ts';
import { unitPrelude } from './steps/units.ts';
import { ProbeOutputError, type Change, type Notify } from './steps/types.ts';

/** Where a pending restart/reload is recorded before the file that needs it is replaced. */
export const PENDING_DIR = '/run/shoestring/pending';

export function pendingMarker(n: Pick<Notify, 'service' | 'action'>): string {
  return `${PENDING_DIR}/${n.service}.${n.action}`;
}

export interface PhasePlan {
  readonly changes: readonly Change[];
  /** Steps already right. */
  readonly unchanged: number;
  /** Restarts/reloads an interrupted run left to do (recorded on the server). */
  readonly pending: readonly Notify[];
}

/** The plan of a phase with no steps. */
export const NOTHING_TO_DO: PhasePlan = { changes: [], unchanged: 0, pending: [] };

/** Whether a plan has anything to do. */
export function hasWork(plan: PhasePlan): boolean {
  return plan.changes.length > 0 || plan.pending.length > 0;
}

function services(steps: readonly Step[]): string[] {
  return [...new Set(steps.flatMap(notifiesOf))];
}

/** The probe script for several phases' steps. */
export function probeScript(phases: readonly (readonly Step[])[]): string {
  const units = new Set<string>();
  const lines: string[] = [];
  phases.forEach((steps, i) => {
    steps.forEach((step, j) => {
      for (const u of unitsOf(step)) units.add(u);
      lines.push(section(`step:${i}:${j}`), probeStep(step));
    });
    const notified = services(steps);
    if (notified.length === 0) return;
    lines.push(section(`pending:${i}`));
    for (const s of notified) {
      lines.push(
        `for a in restart reload; do if [ -e ${q(`${PENDING_DIR}/${s}`)}."$a" ]; then echo ${q(s)} "$a"; fi; done`,
      );
    }
  });
  return `${unitPrelude([...units])}\n${lines.join('\n')}`;
}

/** The notification a pending marker stands for, as the steps declare it. */
function pendingNotify(steps: readonly Step[], service: string, action: string): Notify {
  const declared = steps
    .flatMap((s) => ('notify' in s && s.notify ? s.notify : []))
    .find((n) => n.service === service);
  const act = action === 'reload' ? 'reload' : 'restart';
  return declared ? { ...declared, action: act } : { service, action: act };
}

/** Pure: the plans of the probed phases. `host` names errors. */
export function planPhases(
  phases: readonly (readonly Step[])[],
  output: string,
  host: string,
): PhasePlan[] {
  const sections = readSections(output);
  return phases.map((steps, i) => {
    const changes: Change[] = [];
    steps.forEach((step, j) => {
      const lines = sections.get(`step:${i}:${j}`);
      if (lines === undefined)
        throw new FactError(`${host}: the probe for ${step.title} printed nothing`);
      let fact: unknown;
      try {
        fact = parseStep(step, lines);
      } catch (e) {
        if (!(e instanceof ProbeOutputError)) throw e;
        throw new FactError(`${host}: unexpected probe output for ${step.title}: ${e.message}`);
      }
      const change = decideStep(step, fact, changes);
      if (change) changes.push(change);
    });
    const pending = (sections.get(`pending:${i}`) ?? []).map((line) => {
      const [service = '', action = ''] = line.split(' ');
      return pendingNotify(steps, service, action);
    });
    return { changes, unchanged: steps.length - changes.length, pending };
  });
}
