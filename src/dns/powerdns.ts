/**
 * PowerDNS Authoritative HTTP API (4.x) as a DnsProvider. Names are made canonical (trailing
 * dot); TXT contents carry their own quotes; TXT edits are read-modify-write of the whole RRset,
 * serialized by a mutex (an apex + wildcard ACME order adds two values to one name concurrently).
 * The API key travels only in the X-API-Key header and is registered as a secret. Requests go
 * through http.ts (a timeout on each attempt; rate limits retried, reads and RRset replacements
 * also on server errors and timeouts); errors name the setting to check or what to do.
 */
import { ShoestringError } from '../errors.ts';
import { redact, Secret } from '../redact.ts';
import {
  DnsApiError,
  describeRequest,
  excerpt,
  httpRequest,
  type HttpMethod,
  type HttpOptions,
  type HttpReply,
} from './http.ts';
import { Mutex } from './mutex.ts';
import type { DnsProvider } from './types.ts';

export interface PowerDnsOptions {
  apiUrl: string;
  apiKey: Secret | string;
  zone: string;
  serverId?: string;
  /** Called before every request (the lab checks its bridge here). */
  beforeRequest?: (() => Promise<void>) | undefined;
  /** Per attempt, in ms (default 10 s); tests shorten it. */
  timeoutMs?: number | undefined;
  /** The waits before retries (see http.ts); tests shorten them. */
  retryDelaysMs?: readonly number[] | undefined;
  maxRetryAfterMs?: number | undefined;
}

interface RRset {
  name: string;
  type: string;
  ttl: number;
  records: { content: string; disabled: boolean }[];
}

/** PowerDNS's own words from an error reply (`{"error": "..."}`), else the reply's start. */
function replyDetail(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return excerpt(parsed.error);
  } catch {
    // not JSON: the text itself
  }
  return excerpt(text);
}

/** The error for a reply that is not 2xx: names the setting to check, or what to do. */
function replyError(what: string, reply: HttpReply): ShoestringError {
  const detail = replyDetail(reply.text);
  const status = reply.status;
  if (status === 401 || status === 403) {
    return new ShoestringError(
      redact(
        `PowerDNS rejected PDNS_API_KEY (${what} → HTTP ${status}${detail ? `: ${detail}` : ''})`,
      ),
      {
        hint: 'check PDNS_API_KEY in .env: it must be the api-key of the PowerDNS server at PDNS_API_URL',
      },
    );
  }
  const tries = reply.attempts > 1 ? `, ${reply.attempts} attempts` : '';
  if (status === 429) {
    return new DnsApiError(
      'PowerDNS',
      what,
      status,
      `rate limited${tries}${detail ? `: ${detail}` : ''}`,
      'the PowerDNS API (or a proxy in front of it) is limiting requests; wait a minute and run again',
    );
  }
  if (status >= 500) {
    return new DnsApiError(
      'PowerDNS',
      what,
      status,
      `${detail || 'server error'}${tries}`,
      'PowerDNS had an internal error (its log says which); run again once it answers',
    );
  }
  return new DnsApiError(
    'PowerDNS',
    what,
    status,
    detail,
    status === 404
      ? 'check PDNS_API_URL and PDNS_ZONE in .env: the zone must exist on that PowerDNS server'
      : 'PowerDNS refused the request (see its message); check PDNS_API_URL and PDNS_ZONE in .env',
  );
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
  readonly #http: HttpOptions;

  constructor(options: PowerDnsOptions) {
    this.zone = canonical(options.zone);
    this.#key = options.apiKey instanceof Secret ? options.apiKey : new Secret(options.apiKey);
    const url = options.apiUrl.replace(/\/+$/, '');
    this.#base = `${url}/api/v1/servers/${options.serverId ?? 'localhost'}`;
    this.#http = {
      provider: 'PowerDNS',
      setting: 'PDNS_API_URL',
      beforeRequest: options.beforeRequest,
      timeoutMs: options.timeoutMs,
      retryDelaysMs: options.retryDelaysMs,
      maxRetryAfterMs: options.maxRetryAfterMs,
    };
  }

  /** One request (timeouts and retries as in http.ts); the reply whatever its status. */
  #request(method: HttpMethod, path: string, body?: unknown): Promise<HttpReply> {
    return httpRequest(this.#http, {
      method,
      url: `${this.#base}${path}`,
      headers: {
        'X-API-Key': this.#key.reveal(),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      // A PATCH replaces or deletes a whole RRset: sent twice, it does no harm. A POST creates.
      idempotent: method !== 'POST',
    });
  }

  #what(method: HttpMethod, path: string): string {
    return describeRequest(method, `${this.#base}${path}`);
  }

  /** The reply's text when it is 2xx; else an error naming what to check. */
  async #ok(method: HttpMethod, path: string, body?: unknown): Promise<string> {
    const reply = await this.#request(method, path, body);
    if (reply.status < 200 || reply.status > 299) throw replyError(this.#what(method, path), reply);
    return reply.text;
  }

  #zonePath(): string {
    return `/zones/${encodeURIComponent(this.zone)}`;
  }

  /** The zone exists? (404 → false) */
  async zoneExists(): Promise<boolean> {
    const reply = await this.#request('GET', this.#zonePath());
    if (reply.status === 404) return false;
    if (reply.status < 200 || reply.status > 299)
      throw replyError(this.#what('GET', this.#zonePath()), reply);
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
    const text = await this.#ok('GET', this.#zonePath());
    try {
      const zone = JSON.parse(text) as { rrsets?: RRset[] };
      return zone.rrsets ?? [];
    } catch {
      throw new DnsApiError(
        'PowerDNS',
        this.#what('GET', this.#zonePath()),
        undefined,
        `not JSON: ${excerpt(text, 80)}`,
        'check PDNS_API_URL in .env: it must be the PowerDNS API (http://host:8081), nothing in front of it',
      );
    }
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
