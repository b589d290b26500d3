/**
 * ClouDNS HTTP API as a DnsProvider. Every call is a POST of a form to
 * `https://api.cloudns.net/dns/<method>.json`, the credentials (`auth-id` or `sub-auth-id`, and
 * `auth-password`) in the body, never in the URL (URLs get logged). Errors come back as HTTP 200
 * `{"status":"Failed","statusDescription":…}`, so every reply is checked.
 *
 * Hosts are relative to the zone: "" is the apex, "*" the wildcard, "_acme-challenge.sub" a
 * challenge name. `setA` is exact for one host and type A and never touches another record; TXT
 * values are added one record each (the apex and wildcard ACME values coexist) and removed only
 * when their value matches. Failover monitoring lives in cloudns-failover.ts.
 */
import { ShoestringError } from '../errors.ts';
import { Secret } from '../redact.ts';
import { DnsApiError, describeRequest, excerpt, httpRequest, type HttpOptions } from './http.ts';
import type { DnsProvider } from './types.ts';

/** The only TTLs ClouDNS accepts (seconds). */
export const CLOUDNS_TTLS: readonly number[] = [
  60, 300, 900, 1800, 3600, 21600, 43200, 86400, 172800, 259200, 604800, 1209600, 2592000,
];

/** Why ClouDNS would refuse this TTL, or undefined when it accepts it. */
export function cloudnsTtlProblem(ttl: number): string | undefined {
  if (CLOUDNS_TTLS.includes(ttl)) return undefined;
  return `DNS_TTL=${ttl} is not a TTL ClouDNS accepts: use one of ${CLOUDNS_TTLS.join(', ')}`;
}

export interface ClouDnsOptions {
  /** API user id; or subAuthId for a sub-user (exactly one of the two). */
  readonly authId?: string | undefined;
  readonly subAuthId?: string | undefined;
  readonly password: Secret | string;
  readonly zone: string;
  /** Tests only (a local fake API); not a setting. */
  readonly baseUrl?: string | undefined;
  readonly beforeRequest?: (() => Promise<void>) | undefined;
  readonly timeoutMs?: number | undefined;
  readonly retryDelaysMs?: readonly number[] | undefined;
}

/** One record as ClouDNS lists it (its numbers arrive mostly as strings). */
export interface ClouDnsRecord {
  readonly id: string;
  readonly type: string;
  readonly host: string;
  readonly record: string;
  readonly ttl: number;
  /** 1 active, 0 inactive (failover monitoring deactivates records that are down). */
  readonly status: number;
}

type Fields = Record<string, string>;

const AUTH_HINT =
  'check CLOUDNS_AUTH_ID (or CLOUDNS_SUB_AUTH_ID) and CLOUDNS_AUTH_PASSWORD, and that this API user may connect from this address (cloudns.net/api-settings)';

/** ClouDNS's own "slow down" reply: HTTP 200 with a Failed status (wording not documented). */
function rateLimitedReply(status: number, text: string): boolean {
  if (status !== 200 || !text.includes('Failed')) return false;
  return /too many|rate limit|limit exceeded|try again later/i.test(text);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** records.json: an object keyed by record id, or an empty array (or object) when none. */
export function parseRecords(reply: unknown): ClouDnsRecord[] {
  if (reply === null || typeof reply !== 'object') return [];
  const rows = Array.isArray(reply) ? reply : Object.values(reply);
  const out: ClouDnsRecord[] = [];
  for (const row of rows as unknown[]) {
    if (row === null || typeof row !== 'object') continue;
    const r = row as Record<string, unknown>;
    const id = str(r['id']);
    if (id === '') continue;
    out.push({
      id,
      type: str(r['type']).toUpperCase(),
      host: str(r['host']).toLowerCase(),
      record: str(r['record']),
      ttl: Number(str(r['ttl'])),
      status: r['status'] === undefined ? 1 : Number(str(r['status'])),
    });
  }
  return out;
}

/** A reply with status Failed: ClouDNS refused the request and says why. */
export class ClouDnsFailure extends DnsApiError {
  constructor(
    what: string,
    readonly description: string,
  ) {
    super('ClouDNS', what, undefined, description, hintFor(description));
  }
}

export class ClouDnsProvider implements DnsProvider {
  readonly name = 'cloudns';
  readonly zone: string;
  readonly #auth: Fields;
  readonly #password: Secret;
  readonly #base: string;
  readonly #http: HttpOptions;

  constructor(options: ClouDnsOptions) {
    if (!options.authId === !options.subAuthId) {
      throw new ShoestringError('ClouDNS needs exactly one of an API user id and a sub-user id', {
        hint: 'set CLOUDNS_AUTH_ID or CLOUDNS_SUB_AUTH_ID',
      });
    }
    this.zone = options.zone.trim().toLowerCase().replace(/\.$/, '');
    this.#auth = options.authId
      ? { 'auth-id': options.authId }
      : { 'sub-auth-id': options.subAuthId ?? '' };
    this.#password =
      options.password instanceof Secret ? options.password : new Secret(options.password);
    this.#base = (options.baseUrl ?? 'https://api.cloudns.net').replace(/\/+$/, '');
    this.#http = {
      provider: 'ClouDNS',
      beforeRequest: options.beforeRequest,
      timeoutMs: options.timeoutMs,
      retryDelaysMs: options.retryDelaysMs,
      rateLimited: rateLimitedReply,
    };
  }

  /** The host of a name, relative to the zone ("" = apex). */
  hostOf(fqdn: string): string {
    const name = fqdn.trim().toLowerCase().replace(/\.$/, '');
    if (name === this.zone) return '';
    if (name.endsWith(`.${this.zone}`)) return name.slice(0, -this.zone.length - 1);
    throw new ShoestringError(`${fqdn} is not in the ClouDNS zone ${this.zone}`, {
      hint: 'check CLOUDNS_ZONE: it must be DOMAIN or a parent of it',
    });
  }

  /**
   * Calls `dns/<method>.json` with these fields (plus the credentials) and returns the parsed
   * reply; throws on HTTP errors and on a Failed status. `idempotent`: safe to repeat (reads).
   */
  async call(method: string, fields: Fields, idempotent = false): Promise<unknown> {
    const url = `${this.#base}/dns/${method}.json`;
    const what = describeRequest('POST', url);
    const body = new URLSearchParams({
      ...this.#auth,
      'auth-password': this.#password.reveal(),
      ...fields,
    }).toString();
    const reply = await httpRequest(this.#http, {
      method: 'POST',
      url,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
      idempotent,
    });
    if (reply.status === 429 || rateLimitedReply(reply.status, reply.text)) {
      throw new DnsApiError(
        'ClouDNS',
        what,
        reply.status,
        `rate limited, ${reply.attempts} attempts`,
        'ClouDNS allows about 10 requests a second per account; wait a minute and run again',
      );
    }
    if (reply.status !== 200) {
      throw new DnsApiError(
        'ClouDNS',
        what,
        reply.status,
        excerpt(reply.text),
        'ClouDNS answered with an error; run again later, or see https://www.cloudns.net/system-status/',
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(reply.text);
    } catch {
      throw new DnsApiError(
        'ClouDNS',
        what,
        reply.status,
        `not JSON: ${excerpt(reply.text, 80)}`,
        'an unexpected reply: run again later',
      );
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const p = parsed as Record<string, unknown>;
      if (p['status'] === 'Failed') {
        throw new ClouDnsFailure(what, str(p['statusDescription']) || 'Failed');
      }
    }
    return parsed;
  }

  /** Checks the credentials (`dns/login.json`). */
  async login(): Promise<void> {
    await this.call('login', {}, true);
  }

  /** The records of one host and type (filtered here too: only that exact host and type). */
  async records(host: string, type: string): Promise<ClouDnsRecord[]> {
    const reply = await this.call('records', { 'domain-name': this.zone, host, type }, true);
    return parseRecords(reply).filter((r) => r.host === host && r.type === type);
  }

  /** All A addresses of a name, including records failover monitoring made inactive. */
  async listA(fqdn: string): Promise<string[]> {
    return (await this.records(this.hostOf(fqdn), 'A')).map((r) => r.record).sort();
  }

  // Exact: adds the missing addresses first (never a moment with none), fixes the TTL of the
  // kept ones, then deletes the others and any duplicate; other hosts and types are not read.
  async setA(fqdn: string, addresses: readonly string[], ttl: number): Promise<void> {
    const problem = cloudnsTtlProblem(ttl);
    if (problem) throw new ShoestringError(problem, { hint: 'set DNS_TTL in .env' });
    const host = this.hostOf(fqdn);
    const wanted = [...new Set(addresses)];
    const current = await this.records(host, 'A');
    const kept = new Map<string, ClouDnsRecord>();
    const extra: ClouDnsRecord[] = [];
    for (const r of current) {
      if (wanted.includes(r.record) && !kept.has(r.record)) kept.set(r.record, r);
      else extra.push(r);
    }
    for (const address of wanted) {
      if (kept.has(address)) continue;
      await this.call('add-record', {
        'domain-name': this.zone,
        'record-type': 'A',
        host,
        record: address,
        ttl: String(ttl),
      });
    }
    for (const r of kept.values()) {
      if (r.ttl === ttl) continue;
      await this.call('mod-record', {
        'domain-name': this.zone,
        'record-id': r.id,
        host,
        record: r.record,
        ttl: String(ttl),
      });
    }
    for (const r of extra) await this.#delete(r.id);
  }

  async addTxt(fqdn: string, value: string, ttl: number): Promise<void> {
    const host = this.hostOf(fqdn);
    const current = await this.records(host, 'TXT');
    if (current.some((r) => r.record === value)) return;
    await this.call('add-record', {
      'domain-name': this.zone,
      'record-type': 'TXT',
      host,
      record: value,
      ttl: String(roundUpTtl(ttl)),
    });
  }

  async removeTxt(fqdn: string, value: string): Promise<void> {
    const host = this.hostOf(fqdn);
    for (const r of await this.records(host, 'TXT')) {
      if (r.record === value) await this.#delete(r.id);
    }
  }

  // A record listed a moment ago and now unknown was deleted meanwhile (by an earlier attempt
  // of this very request, or by someone else): the goal is reached.
  async #delete(id: string): Promise<void> {
    try {
      await this.call('delete-record', { 'domain-name': this.zone, 'record-id': id }, true);
    } catch (err) {
      if (err instanceof ClouDnsFailure && /invalid record-id/i.test(err.description)) return;
      throw err;
    }
  }
}

/** The smallest accepted TTL not below `ttl` (TXT records for ACME are short-lived). */
export function roundUpTtl(ttl: number): number {
  return CLOUDNS_TTLS.find((t) => t >= ttl) ?? CLOUDNS_TTLS[CLOUDNS_TTLS.length - 1] ?? 60;
}

/** A failure about the credentials or the zone, not about the request itself. */
export function isAccountFailure(description: string): boolean {
  return /authentication|auth-id|auth-password|domain-name/i.test(description);
}

function hintFor(description: string): string {
  if (/authentication|auth-id|auth-password/i.test(description)) return AUTH_HINT;
  if (/domain-name|zone/i.test(description))
    return 'check CLOUDNS_ZONE: it must be a master zone of this ClouDNS account';
  if (/ttl/i.test(description))
    return `ClouDNS accepts only these TTLs: ${CLOUDNS_TTLS.join(', ')}`;
  return 'ClouDNS refused the request; see its message';
}
