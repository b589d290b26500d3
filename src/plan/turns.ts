/**
 * Cluster-wide turns: named first-come mutexes, one set per run (the operator lock keeps other
 * runs out). The runner alone takes and releases them, in `finally`, so a failed or interrupted
 * host never keeps one.
 */
export class Turns {
  readonly #tails = new Map<string, Promise<void>>();

  /** Resolves with a release function once every earlier holder of `name` released. */
  async take(name: string): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.#tails.get(name) ?? Promise.resolve();
    this.#tails.set(
      name,
      before.then(() => mine),
    );
    await before;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
    };
  }
}

/** Asked by the runner between phases: set by the command's SIGINT handler. */
export interface StopSignal {
  readonly requested: boolean;
}

export const NEVER_STOP: StopSignal = { requested: false };
