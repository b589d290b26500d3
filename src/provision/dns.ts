/**
 * Provision's side of DNS: one A record per server for DOMAIN and *.DOMAIN, exactly, at the
 * provider. Checked (and the credentials with it) before anything changes; a rolling group's
 * records are withdrawn and the TTL waited out before the group is touched (the drain), and
 * restored after it passes its gates; at the end the records are made exactly the servers that
 * are listed and healthy (at most DNS_MAX_RECORDS of them, taking turns as the agent has them).
 * Drains are recorded in etcd so the agent's health duty keeps the drained servers out too; the
 * agent's verdicts (in etcd) keep failing servers out here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterServer } from '../components/types.ts';
import type { Config } from '../config/env.ts';
import { KEYS } from '../agent/keys.ts';
import type { DnsState } from '../agent/dns-duty.ts';
import { wantedAddresses, type RecordLimit } from '../agent/health.ts';
import { dnsProviderFor, recordChanges } from '../dns/provider.ts';
import type { DnsProvider } from '../dns/types.ts';
import { ShoestringError } from '../errors.ts';
import { ETCDCTL } from '../etcd/remote.ts';
import type { Reporter } from '../plan/events.ts';
import { q } from '../ssh/quote.ts';
import { guardAddress } from '../watch/guard.ts';

const ASK = '--dial-timeout=2s --command-timeout=5s';
/** A health book older than this is not trusted (no agent holds the duty). */
const BOOK_FRESH_MS = 60_000;

export type Query = (on: ClusterServer, script: string, what: string) => Promise<string>;

export interface DnsOptions {
  readonly config: Config;
  readonly servers: readonly ClusterServer[];
  readonly query: Query;
  readonly reporter: Reporter;
  readonly dryRun: boolean;
  /** The provider (tests pass their own); made from the config otherwise. */
  readonly provider?: DnsProvider;
}

/** The provider as the operator's machine reaches it (a lab address only over its bridge). */
export function operatorProvider(config: Config): DnsProvider | undefined {
  const dns = config.dns;
  const guard =
    dns.provider === 'powerdns' && config.labDns
      ? () => guardAddress(new URL(dns.apiUrl).hostname)
      : undefined;
  return dnsProviderFor(dns, guard ? { beforeRequest: guard } : {});
}

export class ProvisionDns {
  readonly #provider: DnsProvider;
  readonly #names: string[];
  /** What the provider holds for each name (the wildcard first). */
  readonly #current = new Map<string, string[]>();
  /** Servers that may be published: provisioned before this run, or passed their gates in it. */
  readonly #ready: Set<string>;

  private constructor(
    private readonly o: DnsOptions,
    provider: DnsProvider,
  ) {
    this.#provider = provider;
    this.#names = [`*.${o.config.domain}`, o.config.domain];
    this.#ready = new Set(
      o.servers.filter((s) => s.facts.provisioned || o.dryRun).map((s) => s.hostname),
    );
  }

  /** Undefined when DNS_PROVIDER=none. Asks the provider once: bad credentials stop here. */
  static async start(o: DnsOptions): Promise<ProvisionDns | undefined> {
    const provider = o.provider ?? operatorProvider(o.config);
    if (!provider) return undefined;
    const d = new ProvisionDns(o, provider);
    try {
      for (const name of d.#names) d.#current.set(name, await provider.listA(name));
    } catch (e) {
      if (e instanceof ShoestringError) throw e;
      throw new ShoestringError(
        `DNS provider ${provider.name}: ${e instanceof Error ? e.message : String(e)}`,
        { hint: 'check the DNS_PROVIDER settings in .env' },
      );
    }
    return d;
  }

  /** The wildcard's addresses (what clients resolve). */
  get #published(): string[] {
    return this.#current.get(this.#names[0] ?? '') ?? [];
  }

  get published(): readonly string[] {
    return this.#published;
  }

  #say(message: string): void {
    this.o.reporter.event({ type: 'info', host: 'dns', message });
  }

  async #etcd(script: string, what: string): Promise<string | undefined> {
    for (const s of this.o.servers.filter((x) => x.facts.provisioned)) {
      try {
        return await this.o.query(s, script, what);
      } catch {
        // the next server may answer
      }
    }
    return undefined;
  }

  /** The agent's health book when fresh, and the drained servers, from etcd. */
  async #clusterView(): Promise<{ state: DnsState | undefined; drained: Set<string> }> {
    const out = await this.#etcd(
      `${ETCDCTL} ${ASK} get --print-value-only ${q(KEYS.dnsState)} 2>/dev/null || true; echo '--'; ${ETCDCTL} ${ASK} get --prefix --keys-only ${q(KEYS.drainPrefix)} 2>/dev/null || true`,
      'read DNS state',
    );
    const [stateText = '', drainText = ''] = (out ?? '').split('\n--\n');
    let state: DnsState | undefined;
    try {
      const s = JSON.parse(stateText.trim()) as DnsState;
      if (Date.now() - Date.parse(s.at) < BOOK_FRESH_MS) state = s;
    } catch {
      state = undefined;
    }
    const drained = new Set(
      drainText
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith(KEYS.drainPrefix))
        .map((l) => l.slice(KEYS.drainPrefix.length)),
    );
    return { state, drained };
  }

  /** Makes every name hold exactly `addresses`; says what changed (or would). */
  async #set(addresses: readonly string[], why: string): Promise<boolean> {
    let changed = false;
    for (const name of this.#names) {
      const diff = recordChanges(this.#current.get(name) ?? [], addresses);
      if (diff.add.length === 0 && diff.remove.length === 0) continue;
      changed = true;
      const text = `${name}: ${[...diff.add.map((a) => `+${a}`), ...diff.remove.map((a) => `-${a}`)].join(' ')} (${why})`;
      if (!this.o.dryRun) await this.#provider.setA(name, addresses, this.o.config.dnsTtl);
      this.#current.set(name, [...addresses].sort());
      this.#say(`${this.o.dryRun ? 'would change' : 'changed'} ${text}`);
    }
    return changed;
  }

  async #mark(hosts: readonly ClusterServer[], drained: boolean): Promise<void> {
    if (this.o.dryRun || hosts.length === 0) return;
    const script = hosts
      .map((h) => {
        const key = q(`${KEYS.drainPrefix}${h.hostname}`);
        return drained
          ? `${ETCDCTL} ${ASK} put ${key} ${q(JSON.stringify({ by: 'provision', at: new Date().toISOString() }))} >/dev/null`
          : `${ETCDCTL} ${ASK} del ${key} >/dev/null`;
      })
      .join(' && ');
    await this.#etcd(script, drained ? 'mark drained' : 'unmark drained');
  }

  /**
   * Before a group is touched: withdraw its published servers (never every one) and wait the
   * drain time out, so resolvers stop sending clients there. Every server of the group is marked
   * drained in etcd, also one not published yet (a new server): the agent's health duty then
   * keeps it out until it passed its gates.
   */
  async drain(group: readonly ClusterServer[]): Promise<void> {
    if (this.#readyListed().length > this.o.config.dnsMaxRecords) return this.#drainWindow(group);
    const inDns = group.filter((s) => this.#published.includes(s.address));
    const rest = this.#published.filter((a) => !inDns.some((s) => s.address === a));
    const withdraw = inDns.length > 0 && rest.length > 0;
    if (inDns.length > 0 && !withdraw) {
      this.#say(
        `not draining ${inDns.map((s) => s.server.spec).join(', ')}: no other server is in DNS`,
      );
    }
    await this.#mark(
      group.filter((s) => withdraw || !inDns.includes(s)),
      true,
    );
    if (!withdraw) return;
    await this.#set(rest, `drain ${inDns.map((s) => s.server.spec).join(', ')}`);
    const wait = this.o.config.dnsDrainSeconds;
    if (!this.o.dryRun && wait > 0) {
      this.#say(`waiting ${wait} s for resolvers to forget them (DNS_DRAIN_SECONDS)`);
      await sleep(wait * 1000);
    }
  }

  /**
   * A drain with more ready servers than DNS_MAX_RECORDS: the records are a window over the
   * servers (see src/dns/window.ts), so the group is marked drained and the window is made again
   * from the others (the published ones outside the group may be few, or none).
   */
  async #drainWindow(group: readonly ClusterServer[]): Promise<void> {
    const { state, drained } = await this.#clusterView();
    for (const s of group) drained.add(s.hostname);
    const wanted = wantedAddresses(
      this.#readyListed(),
      state?.book ?? {},
      drained,
      this.#published,
      this.#limit(),
    );
    const inDns = group.filter((s) => this.#published.includes(s.address));
    const names = group.map((s) => s.server.spec).join(', ');
    if (wanted.keptLast) {
      this.#say(`not draining ${names}: no other server is healthy`);
      await this.#mark(
        group.filter((s) => !inDns.includes(s)),
        true,
      );
      return;
    }
    await this.#mark(group, true);
    await this.#set(wanted.addresses, `drain ${names}`);
    const wait = this.o.config.dnsDrainSeconds;
    if (!this.o.dryRun && wait > 0 && inDns.length > 0) {
      this.#say(`waiting ${wait} s for resolvers to forget them (DNS_DRAIN_SECONDS)`);
      await sleep(wait * 1000);
    }
  }

  /** The servers that may be published (ready), as the health book names them. */
  #readyListed(): { host: string; address: string }[] {
    return this.o.servers
      .filter((s) => this.#ready.has(s.hostname))
      .map((s) => ({ host: s.hostname, address: s.address }));
  }

  /** DNS_MAX_RECORDS, the window of now (the agent's, as long as the clocks agree). */
  #limit(): RecordLimit {
    return { max: this.o.config.dnsMaxRecords, now: Date.now() };
  }

  /**
   * The servers still marked drained in etcd: a run before left them out after they failed
   * their gates. Each is checked again by this run (its gates), also with nothing to change.
   */
  async drained(): Promise<ReadonlySet<string>> {
    return (await this.#clusterView()).drained;
  }

  /** After a group passed its gates: its servers are published (again). */
  async undrain(passed: readonly ClusterServer[]): Promise<void> {
    for (const s of passed) this.#ready.add(s.hostname);
    await this.#mark(passed, false);
    await this.sync();
  }

  /**
   * The records made exactly the servers that are ready, not drained, and not held for failing
   * by the agent (never none). A server that failed in this run is not ready (a new one) or
   * still drained (one that served), so it stays out.
   */
  async sync(): Promise<void> {
    const { state, drained } = await this.#clusterView();
    const listed = this.#readyListed();
    const wanted = wantedAddresses(
      listed,
      state?.book ?? {},
      drained,
      this.#published,
      this.#limit(),
    );
    const out = listed.filter((s) => state?.book[s.host]?.in === false).map((s) => s.host);
    await this.#set(
      wanted.addresses,
      out.length > 0
        ? `out until the agent's health checks pass: ${out.join(', ')}`
        : 'servers.txt',
    );
  }

  /** Destroy: the drain marks of servers that are gone (or stay, when their teardown failed). */
  async forget(servers: readonly ClusterServer[]): Promise<void> {
    await this.#mark(servers, false);
  }

  /** Destroy: the servers' addresses leave the records (the last ones too: nothing serves). */
  async remove(servers: readonly ClusterServer[]): Promise<void> {
    const gone = new Set(servers.map((s) => s.address));
    const rest = this.#published.filter((a) => !gone.has(a));
    // Destroying the last servers takes their records too: nothing is left to serve.
    await this.#set(rest, rest.length === 0 ? 'destroyed: no server left' : 'destroyed');
  }
}
