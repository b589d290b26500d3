/**
 * The agent's duties (DNS health failover, the certificate) run only on the server that holds
 * the election: a key created under a short lease. The holder refreshes the lease; when it dies
 * or is cut off, the lease expires and another server's create succeeds within seconds.
 *
 * No double edits: a holder trusts itself only while its last successful refresh is younger than
 * the lease minus a margin, so a cut-off holder stops before anyone else can take over. Every
 * duty checks `holding()` right before it edits anything.
 */
import type { EtcdGateway } from './etcd-gateway.ts';

import { KEYS } from './keys.ts';

export const HOLDER_KEY = KEYS.holder;

export interface ElectionOptions {
  /** Lease TTL in seconds. */
  readonly ttl: number;
  /** Seconds before the lease would expire at which the holder stops trusting itself. */
  readonly margin: number;
  readonly now?: () => number;
}

export interface HolderRecord {
  readonly host: string;
  readonly since: string;
}

/** Pure: may a holder whose last refresh succeeded at `lastOk` still act at `now`? */
export function stillHolding(lastOk: number, now: number, ttl: number, margin: number): boolean {
  return now - lastOk < (ttl - margin) * 1000;
}

export class Election {
  #lease: string | undefined;
  #lastOk = 0;
  readonly #now: () => number;

  constructor(
    private readonly etcd: EtcdGateway,
    private readonly host: string,
    private readonly options: ElectionOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  holding(): boolean {
    return (
      this.#lease !== undefined &&
      stillHolding(this.#lastOk, this.#now(), this.options.ttl, this.options.margin)
    );
  }

  /**
   * One step: refresh our lease if we hold, else try to take the key. Returns whether we hold.
   * Errors (etcd unreachable) are swallowed: we simply do not hold until a step succeeds.
   */
  async step(): Promise<boolean> {
    try {
      if (this.#lease !== undefined) {
        // The lease counts from when the refresh was sent, not when its answer came.
        const sent = this.#now();
        const ttl = await this.etcd.keepAlive(this.#lease);
        const current = await this.etcd.get(HOLDER_KEY);
        if (ttl > 0 && current?.lease === this.#lease) {
          this.#lastOk = sent;
          return this.holding();
        }
        this.#lease = undefined; // expired, or the key went: campaign again below
      }
      const lease = await this.etcd.grant(this.options.ttl);
      const record: HolderRecord = { host: this.host, since: new Date(this.#now()).toISOString() };
      const started = this.#now();
      if (await this.etcd.create(HOLDER_KEY, JSON.stringify(record), lease)) {
        this.#lease = lease;
        this.#lastOk = started;
        return this.holding();
      }
      await this.etcd.revoke(lease).catch(() => undefined);
      return false;
    } catch {
      return this.holding();
    }
  }

  /** Who holds the duties now (read from etcd). */
  async holder(): Promise<HolderRecord | undefined> {
    return this.etcd.getJson<HolderRecord>(HOLDER_KEY);
  }

  /** Gives the duties up at once (the agent stopping). */
  async resign(): Promise<void> {
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease) await this.etcd.revoke(lease).catch(() => undefined);
  }

  get lease(): string | undefined {
    return this.#lease;
  }
}
