/**
 * The exception: a shell command guarded by a check. Idempotence: `unless` exits 0 when the work
 * is done; it is asked again when applying (an earlier change may have done the work), and a
 * command found done then is not counted and notifies nobody.
 */
import { ProbeOutputError, type Change, type Notify, type StepKind } from './types.ts';

export interface CommandStep {
  readonly kind: 'command';
  readonly title: string;
  /** A check: exit 0 means the work is already done. */
  readonly unless: string;
  readonly run: string;
  readonly notify?: readonly Notify[];
}

export interface CommandFact {
  readonly done: boolean;
}

export const shell = {
  command(title: string, unless: string, run: string, notify?: readonly Notify[]): CommandStep {
    return { kind: 'command', title, unless, run, ...(notify ? { notify } : {}) };
  },
};

/** The apply script sets this variable to 1 when a guarded command found its work done. */
export const SKIPPED_VAR = 'shoestring_skipped';

export const commandKind: StepKind<CommandStep, CommandFact> = {
  probe: (s) => `if ( ${s.unless} ) >/dev/null 2>&1; then echo DONE; else echo TODO; fi`,
  parse(_s, lines) {
    if (lines[0] !== 'DONE' && lines[0] !== 'TODO') throw new ProbeOutputError(lines.join(' | '));
    return { done: lines[0] === 'DONE' };
  },
  decide(step, fact): Change | null {
    if (fact.done) return null;
    return {
      title: step.title,
      summary: `run: ${step.title}`,
      script: `if ! ( ${step.unless} ) >/dev/null 2>&1; then\n${step.run}\nelse\n${SKIPPED_VAR}=1\nfi`,
      notify: step.notify ?? [],
      guarded: true,
    };
  },
};
