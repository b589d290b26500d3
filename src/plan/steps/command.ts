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
  /**
   * Paths whose change earlier in the same phase makes the command due whatever its probe said
   * (the probe ran before they changed); `unless` is still asked when applying.
   */
  readonly after?: readonly string[];
}

export interface CommandFact {
  readonly done: boolean;
}

export const shell = {
  command(
    title: string,
    unless: string,
    run: string,
    notify?: readonly Notify[],
    options: { after?: readonly string[] } = {},
  ): CommandStep {
    return {
      kind: 'command',
      title,
      unless,
      run,
      ...(notify ? { notify } : {}),
      ...(options.after ? { after: options.after } : {}),
    };
  },
};

function change(step: CommandStep): Change {
  return {
    title: step.title,
    summary: `run: ${step.title}`,
    script: `if ! ( ${step.unless} ) >/dev/null 2>&1; then\n${step.run}\nelse\n${SKIPPED_VAR}=1\nfi`,
    notify: step.notify ?? [],
    guarded: true,
  };
}

/** The apply script sets this variable to 1 when a guarded command found its work done. */
export const SKIPPED_VAR = 'shoestring_skipped';

export const commandKind: StepKind<CommandStep, CommandFact> = {
  probe: (s) => `if ( ${s.unless} ) >/dev/null 2>&1; then echo DONE; else echo TODO; fi`,
  parse(_s, lines) {
    if (lines[0] !== 'DONE' && lines[0] !== 'TODO') throw new ProbeOutputError(lines.join(' | '));
    return { done: lines[0] === 'DONE' };
  },
  decide(step, fact): Change | null {
    return fact.done ? null : change(step);
  },
  // A path it depends on changed earlier in the phase: due, and checked again when applied.
  follow(step, earlier): Change | null {
    const after = step.after ?? [];
    return earlier.some((c) => c.path !== undefined && after.includes(c.path))
      ? change(step)
      : null;
  },
};
