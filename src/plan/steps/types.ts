/**
 * Desired-state steps as data, and the contract every step kind fulfils: a read-only probe (shell
 * printing lines), a pure parser of those lines into a fact, and a pure `decide(step, fact)` that
 * returns the change to make, or null when the server already matches. One file per kind.
 */

/** What to do to a service once a change that asks for it really ran. */
export interface Notify {
  readonly service: string;
  readonly action: 'restart' | 'reload';
  /** Run before the restart/reload (e.g. `apache2ctl -t`); a failure stops it. */
  readonly check?: string;
  /**
   * Restart while holding this cluster-wide turn (one member at a time, so a cluster keeps its
   * quorum). The runner takes the turn; the restart itself waits for `settle` afterwards.
   */
  readonly turn?: string;
  /** Shell that waits (bounded) until the service is healthy again after its restart. */
  readonly settle?: string;
}

/** The change a step needs. `script` applies it (bash, `set -euo pipefail`). */
export interface Change {
  readonly title: string;
  /** One line, e.g. "install etcd-server etcd-client" or "create /etc/default/etcd". */
  readonly summary: string;
  readonly script: string;
  readonly notify: readonly Notify[];
  /** The service this change starts (a start needs no restart for files changed before it). */
  readonly starts?: string;
  /** The path this change writes or removes (later steps of the phase may depend on it). */
  readonly path?: string;
  /** New content of a file: dry runs show it as a diff (secret content never). */
  readonly content?: { readonly path: string; readonly text: string; readonly secret: boolean };
  /**
   * A guarded command: re-checked when applied, it may find its work done by an earlier change
   * (then it is not counted, and notifies nobody).
   */
  readonly guarded?: boolean;
}

/** A step kind: probe (shell), parse (pure), decide (pure). */
export interface StepKind<S, F> {
  /** Shell printing what `parse` reads. Read-only. Values enter only through q(). */
  probe(step: S): string;
  /** Pure. Throws ProbeOutputError on output it does not understand. */
  parse(step: S, lines: readonly string[]): F;
  /** Pure: null when the server already matches the step. */
  decide(step: S, fact: F): Change | null;
  /**
   * Pure, for a step whose fact an earlier step of the same phase can make stale (the probe ran
   * before anything was applied): the change it needs after `earlier`, when `decide` said none.
   */
  follow?(step: S, earlier: readonly Change[]): Change | null;
}

/** Probe output a parser does not understand (the runner adds host and step). */
export class ProbeOutputError extends Error {}

export const ROOT = { owner: 'root', group: 'root' } as const;
