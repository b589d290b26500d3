/**
 * PowerDNS Authoritative HTTP API (4.x) as a DnsProvider. Names are made canonical (trailing
 * dot); TXT contents carry their own quotes; TXT edits are read-modify-write of the whole RRset,
 * serialized by a mutex (an apex + wildcard ACME order adds two values to one name concurrently).
 * The API key travels only in the X-API-Key header and is registered as a secret.
 */
import { ShoestringError } from '../errors.ts';
import { Secret } from '../redact.ts';
import { Mutex } from './mutex.ts';
import type { DnsProvider } from './types.ts';

export class PowerDnsError extends ShoestringError {
  constructor(
    readonly status: number,
    what: string,
    body: string,
  ) {
    super(
      `PowerDNS API: ${what} → HTTP ${status}${body ? ` (${body.trim().slice(0, 200)})` : ''}`,
      {
        hint: status === 401 ? 'check PDNS_API_KEY' : 'check PDNS_API_URL and PDNS_ZONE',
      },
    );
  }
}

export interface PowerDnsOptions {
  apiUrl: string;
  apiKey: Secret | string;
  zone: string;
  serverId?: string;
  /** Called before every request (the lab checks its bridge here). */
  beforeRequest?: () => Promise<void>;
}

interface RRset {
  name: string;
  type: string;
  ttl: number;
  records: { content: string; disabled: boolean }[];
}

export function canonical(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

/** A TXT value as PowerDNS stores it: quoted, with quotes and backslashes escaped. */
export function quoteTxt(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function unquoteTxt(content: string): string {
  const parts = [...content.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) =>
    (m[1] ?? '').replace(/\\(.)/g, '$1'),
  );
  return parts.length > 0 ? parts.join('') : content;
}

export class PowerDnsProvider implements DnsProvider {
  readonly name = 'powerdns';
  readonly zone: string;
  readonly #key: Secret;
  readonly #base: string;
  readonly #mutex = new Mutex();
  readonly #before: (() => Promise<void>) | undefined;

  constructor(options: PowerDnsOptions) {
    this.zone = canonical(options.zone);
    this.#key = options.apiKey instanceof Secret ? options.apiKey : new Secret(options.apiKey);
    const url = options.apiUrl.replace(/\/+$/, '');
    this.#base = `${url}/api/v1/servers/${options.serverId ?? 'localhost'}`;
    this.#before = options.beforeRequest;
  }

  async #request(method: string, path: string, body?: unknown): Promise<Response> {
    if (this.#before) await this.#before();
    const res = await fetch(`${this.#base}${path}`, {
      method,
      headers: {
        'X-API-Key': this.#key.reveal(),
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    return res;
  }

  async #ok(method: string, path: string, body?: unknown): Promise<Response> {
    const res = await this.#request(method, path, body);
    if (!res.ok) throw new PowerDnsError(res.status, `${method} ${path}`, await res.text());
    return res;
  }

  #zonePath(): string {
    return `/zones/${encodeURIComponent(this.zone)}`;
  }

  /** The zone exists? (404 → false) */
  async zoneExists(): Promise<boolean> {
    const res = await this.#request('GET', this.#zonePath());
    if (res.status === 404) return false;
    if (!res.ok) throw new PowerDnsError(res.status, `GET ${this.#zonePath()}`, await res.text());
    return true;
  }

  /** Creates the zone (Native) with these name servers unless it exists. */
  async ensureZone(nameservers: readonly string[]): Promise<void> {
    if (await this.zoneExists()) return;
    await this.#ok('POST', '/zones', {
      name: this.zone,
      kind: 'Native',
      nameservers: nameservers.map(canonical),
    });
  }

  async #rrsets(): Promise<RRset[]> {
    const res = await this.#ok('GET', this.#zonePath());
    const zone = (await res.json()) as { rrsets?: RRset[] };
    return zone.rrsets ?? [];
  }

  async #rrset(name: string, type: string): Promise<RRset | undefined> {
    const n = canonical(name);
    return (await this.#rrsets()).find((r) => r.name === n && r.type === type);
  }

  async #patch(
    name: string,
    type: string,
    ttl: number,
    contents: readonly string[],
  ): Promise<void> {
    const rrset =
      contents.length === 0
        ? { name: canonical(name), type, changetype: 'DELETE' }
        : {
            name: canonical(name),
            type,
            ttl,
            changetype: 'REPLACE',
            records: contents.map((content) => ({ content, disabled: false })),
          };
    await this.#ok('PATCH', this.#zonePath(), { rrsets: [rrset] });
  }

  async listA(fqdn: string): Promise<string[]> {
    const r = await this.#rrset(fqdn, 'A');
    return (r?.records ?? []).filter((x) => !x.disabled).map((x) => x.content);
  }

  async setA(fqdn: string, addresses: readonly string[], ttl: number): Promise<void> {
    await this.#patch(fqdn, 'A', ttl, [...new Set(addresses)].sort());
  }

  addTxt(fqdn: string, value: string, ttl: number): Promise<void> {
    return this.#mutex.run(async () => {
      const current = await this.#rrset(fqdn, 'TXT');
      const values = (current?.records ?? []).map((r) => unquoteTxt(r.content));
      if (values.includes(value)) return;
      await this.#patch(fqdn, 'TXT', ttl, [...values, value].map(quoteTxt));
    });
  }

  removeTxt(fqdn: string, value: string): Promise<void> {
    return this.#mutex.run(async () => {
      const current = await this.#rrset(fqdn, 'TXT');
      if (!current) return;
      const values = current.records.map((r) => unquoteTxt(r.content));
      if (!values.includes(value)) return;
      await this.#patch(fqdn, 'TXT', current.ttl, values.filter((v) => v !== value).map(quoteTxt));
    });
  }
}
