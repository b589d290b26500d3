/**
 * The DNS duty (the election holder only): every few seconds, ask every listed server's
 * /healthz from outside, fold the answers into the health book, and make the provider's A
 * records for DOMAIN and *.DOMAIN exactly the servers that are in, not drained, never none; at
 * most DNS_MAX_RECORDS of them, the healthy ones beyond taking turns (src/dns/window.ts).
 * The book and each change go to etcd (status shows them) and to the journal.
 */
import type { DnsProvider } from '../dns/types.ts';
import { recordChanges } from '../dns/provider.ts';
import { DEFAULT_MAX_RECORDS } from '../dns/window.ts';
import type { AgentConfig } from './config.ts';
import type { EtcdGateway } from './etcd-gateway.ts';
import { applyRound, wantedAddresses, type HealthBook, type HealthChange } from './health.ts';
import { KEYS, PEERS_PREFIX } from './keys.ts';
import { probeHealthz } from './probe.ts';

/** The provider is asked for its records at most this often (and after any edit). */
const LIST_EVERY_MS = 15_000;
const CHANGES_KEPT = 50;

export interface DnsState {
  readonly holder: string;
  readonly at: string;
  readonly book: HealthBook;
  readonly published: readonly string[];
  readonly drained: readonly string[];
  /** Every server is failing: the published ones are kept rather than publish none. */
  readonly keptLast: boolean;
}

export interface DnsChangeRecord {
  readonly at: string;
  readonly by: string;
  readonly what: string;
}

export interface Listed {
  readonly host: string;
  readonly address: string;
}

/** The servers listed in the cluster's state (the peers records provision keeps). */
export async function listedServers(etcd: EtcdGateway): Promise<Listed[]> {
  const out: Listed[] = [];
  for (const kv of await etcd.getPrefix(PEERS_PREFIX)) {
    try {
      const rec = JSON.parse(kv.value) as { public?: string };
      if (rec.public) out.push({ host: kv.key.slice(PEERS_PREFIX.length), address: rec.public });
    } catch {
      // a record we cannot read is skipped; provision rewrites it
    }
  }
  return out;
}

export class DnsDuty {
  #book: HealthBook | undefined;
  #published: string[] | undefined;
  #listedAt = 0;
  #https = false;

  constructor(
    private readonly etcd: EtcdGateway,
    private readonly dns: DnsProvider,
    private readonly config: AgentConfig,
    private readonly holding: () => boolean,
    private readonly log: (line: string) => void,
  ) {}

  /** Probe over HTTPS once the cluster has a certificate. */
  set https(v: boolean) {
    this.#https = v;
  }

  /** A holder that lost the duty forgets its view; the next one starts from etcd's. */
  reset(): void {
    this.#book = undefined;
    this.#published = undefined;
    this.#listedAt = 0;
  }

  async round(now = Date.now()): Promise<void> {
    const { domain, health } = this.config;
    if (this.#book === undefined) this.#book = await this.#storedBook();
    const listed = await listedServers(this.etcd);
    const drained = new Set(
      (await this.etcd.getPrefix(KEYS.drainPrefix)).map((kv) =>
        kv.key.slice(KEYS.drainPrefix.length),
      ),
    );
    if (this.#published === undefined || now - this.#listedAt > LIST_EVERY_MS) {
      this.#published = await this.dns.listA(`*.${domain}`);
      this.#listedAt = now;
    }
    const probes = await Promise.all(
      listed.map((s) =>
        probeHealthz(s.host, s.address, {
          domain,
          https: this.#https,
          timeoutMs: health.timeoutMs,
        }),
      ),
    );
    const { book, changes } = applyRound(this.#book, probes, health, now, this.#published);
    this.#book = book;
    for (const c of changes) await this.#record(c, now);
    const wanted = wantedAddresses(listed, book, drained, this.#published, {
      max: this.config.maxRecords ?? DEFAULT_MAX_RECORDS,
      now,
    });
    const diff = recordChanges(this.#published, wanted.addresses);
    if ((diff.add.length > 0 || diff.remove.length > 0) && this.holding()) {
      for (const name of [`*.${domain}`, domain]) {
        await this.dns.setA(name, wanted.addresses, this.config.ttl);
      }
      const what = `DNS ${domain}: ${[
        ...diff.add.map((a) => `+${a}`),
        ...diff.remove.map((a) => `-${a}`),
      ].join(
        ' ',
      )} → ${wanted.addresses.join(' ') || 'none'}${wanted.keptLast ? ' (every server failing: kept the last)' : ''}`;
      this.log(what);
      await this.#appendChange({ at: new Date(now).toISOString(), by: this.config.host, what });
      this.#published = wanted.addresses;
      this.#listedAt = 0; // read back what the provider holds next round
    }
    if (!this.holding()) return;
    const state: DnsState = {
      holder: this.config.host,
      at: new Date(now).toISOString(),
      book,
      published: this.#published,
      drained: [...drained].sort(),
      keptLast: wanted.keptLast,
    };
    await this.etcd.put(KEYS.dnsState, JSON.stringify(state));
  }

  async #storedBook(): Promise<HealthBook> {
    return (await this.etcd.getJson<DnsState>(KEYS.dnsState))?.book ?? {};
  }

  async #record(c: HealthChange, now: number): Promise<void> {
    const what = `${c.host} (${c.address}) ${c.to === 'out' ? 'withdrawn' : 'restored'}: ${c.reason}`;
    this.log(what);
    await this.#appendChange({ at: new Date(now).toISOString(), by: this.config.host, what });
  }

  async #appendChange(change: DnsChangeRecord): Promise<void> {
    const list = (await this.etcd.getJson<DnsChangeRecord[]>(KEYS.dnsChanges)) ?? [];
    list.push(change);
    await this.etcd.put(KEYS.dnsChanges, JSON.stringify(list.slice(-CHANGES_KEPT)));
  }
}
