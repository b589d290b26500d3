/**
 * Phases and gates: what components declare. A phase is a titled list of steps probed and applied
 * in one round trip each; the runner alone runs them, takes cluster-wide turns and polls gates.
 */
import type { Target } from '../ssh/target.ts';
import type { Step } from './steps/index.ts';

export interface Phase {
  /** Sentence case: "Install etcd". */
  readonly title: string;
  /**
   * The steps; or, for a phase with a `query`, a pure function of the query's output (e.g. the
   * member list a join needs, asked of a healthy member when the join's turn comes).
   */
  readonly steps: readonly Step[] | ((answer: string) => readonly Step[]);
  /** Run on this server instead of the host being provisioned (e.g. `member add` on a member). */
  readonly on?: Target;
  /** A read-only script asked right before the phase is planned (also in dry runs). */
  readonly query?: { readonly on: Target; readonly script: string };
  /**
   * A cluster-wide turn: when the phase has changes, the runner takes the turn first (one host
   * at a time across the cluster), plans the phase again, applies it, and keeps the turn through
   * the host's following phases of the same turn; it releases it on failure and Ctrl-C too.
   */
  readonly turn?: string;
  /**
   * Polled right after the phase changed something (before the host's next phase), e.g. a new
   * firewall confirmed over a new SSH connection before its automatic rollback fires.
   */
  readonly confirm?: Gate;
}

/** Why a gate is not passed yet; undefined when it is. */
export type Verdict = string | undefined;

/** A health gate: a read-only probe and a pure verdict, polled by the runner within a budget. */
export interface Gate {
  readonly title: string;
  readonly probe: string;
  readonly verdict: (output: string) => Verdict;
  /**
   * Why waiting cannot help (e.g. the service is masked: nothing will start it), read from the
   * same output when the verdict is not a pass: the gate fails at once instead of at the end of
   * its budget.
   */
  readonly hopeless?: (output: string) => Verdict;
  /** What to look at when the gate fails. */
  readonly hint: string;
  /** Time budget in seconds. */
  readonly seconds: number;
  /** Where to probe (default: the host). */
  readonly on?: Target;
  /** Probe over a new SSH connection each time (not the shared one), with this connect timeout. */
  readonly fresh?: { readonly connectTimeout: number };
}

/** Steps of a phase that are known before it runs (phases with a query are planned late). */
export function staticSteps(phase: Phase): readonly Step[] | undefined {
  return typeof phase.steps === 'function' ? undefined : phase.steps;
}
