/** A first-come mutex: etcd members join one at a time (each `member add` changes the quorum). */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  /** Resolves with a release function once every earlier holder released (or gave up). */
  async acquire(timeoutMs: number): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.#tail;
    this.#tail = before.then(() => mine);
    // A holder whose host failed never releases: wait at most timeoutMs for it.
    await Promise.race([before, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    return release;
  }
}
