/**
 * Cloudflare API v4 as a DnsProvider, over plain fetch: the official `cloudflare` npm SDK changes
 * its major version (with breaking changes) several times a year, while these few REST calls
 * have not changed. The API token travels only in the Authorization header.
 *
 * `setA` is exact for one name and type A and never touches another record. TXT contents are
 * sent as a quoted character string (what Cloudflare now expects) and compared unquoted; a TXT
 * value is added beside the others and removed only when it matches.
 */
import { ShoestringError } from '../errors.ts';
import { redact, Secret } from '../redact.ts';
import { DnsApiError, excerpt, httpRequest, type HttpMethod, type HttpOptions } from './http.ts';
import { quoteTxt, unquoteTxt } from './powerdns.ts';
import type { DnsProvider } from './types.ts';

export interface CloudflareOptions {
  readonly apiToken: Secret | string;
  readonly zone: string;
  /** Tests only (a local fake API); not a setting. */
  readonly baseUrl?: string | undefined;
  readonly beforeRequest?: (() => Promise<void>) | undefined;
  readonly timeoutMs?: number | undefined;
  readonly retryDelaysMs?: readonly number[] | undefined;
  readonly maxRetryAfterMs?: number | undefined;
}

export interface CloudflareRecord {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly content: string;
  readonly ttl: number;
  readonly proxied: boolean;
}

interface Envelope {
  success?: boolean;
  errors?: { code?: number; message?: string }[];
  result?: unknown;
  result_info?: { page?: number; total_pages?: number };
}

/** Error codes of a refused token (bad, expired, or without access). */
const AUTH_CODES = new Set([6003, 6111, 9103, 9106, 9107, 9109, 10000, 10001]);
const IDENTICAL_RECORD_EXISTS = 81058;
const RECORD_NOT_FOUND = 81044;
const TOKEN_HINT =
  'the token needs the permissions Zone → DNS → Edit and Zone → Zone → Read for the zone CLOUDFLARE_ZONE (dash.cloudflare.com/profile/api-tokens)';

function messages(env: Envelope | undefined): string {
  return (env?.errors ?? []).map((e) => `${e.code ?? '?'}: ${e.message ?? ''}`.trim()).join('; ');
}

function codes(env: Envelope | undefined): number[] {
  return (env?.errors ?? []).map((e) => e.code ?? 0);
}

export class CloudflareProvider implements DnsProvider {
  readonly name = 'cloudflare';
  readonly zone: string;
  readonly #token: Secret;
  readonly #base: string;
  readonly #http: HttpOptions;
  #zoneId: Promise<string> | undefined;

  constructor(options: CloudflareOptions) {
    this.zone = options.zone.trim().toLowerCase().replace(/\.$/, '');
    this.#token =
      options.apiToken instanceof Secret ? options.apiToken : new Secret(options.apiToken);
    this.#base = (options.baseUrl ?? 'https://api.cloudflare.com/client/v4').replace(/\/+$/, '');
    this.#http = {
      provider: 'Cloudflare',
      beforeRequest: options.beforeRequest,
      timeoutMs: options.timeoutMs,
      retryDelaysMs: options.retryDelaysMs,
      maxRetryAfterMs: options.maxRetryAfterMs,
    };
  }

  /**
   * One API call; returns the envelope when `success`. `tolerate`: error codes that mean the
   * goal is already reached (returned as undefined instead of thrown).
   */
  async #call(
    method: HttpMethod,
    path: string,
    body?: unknown,
    tolerate: readonly number[] = [],
  ): Promise<Envelope | undefined> {
    const url = `${this.#base}${path}`;
    const reply = await httpRequest(this.#http, {
      method,
      url,
      headers: {
        Authorization: `Bearer ${this.#token.reveal()}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    let env: Envelope | undefined;
    try {
      env = JSON.parse(reply.text) as Envelope;
    } catch {
      env = undefined;
    }
    if (env?.success === true && reply.status < 300) return env;
    const what = `${method} ${new URL(url).pathname}`;
    const found = codes(env);
    if (found.some((c) => tolerate.includes(c))) return undefined;
    const detail = env ? messages(env) : excerpt(reply.text);
    if (reply.status === 401 || reply.status === 403 || found.some((c) => AUTH_CODES.has(c))) {
      const why = `${what} → HTTP ${reply.status}${detail ? `: ${detail}` : ''}`;
      throw new ShoestringError(redact(`Cloudflare rejected CLOUDFLARE_API_TOKEN (${why})`), {
        hint: TOKEN_HINT,
      });
    }
    if (reply.status === 429) {
      throw new DnsApiError(
        'Cloudflare',
        what,
        429,
        `rate limited, ${reply.attempts} attempts${detail ? `: ${detail}` : ''}`,
        'Cloudflare allows 1200 requests per 5 minutes per user; wait a few minutes and run again',
      );
    }
    throw new DnsApiError(
      'Cloudflare',
      what,
      reply.status,
      detail || 'success is false',
      reply.status >= 500
        ? 'Cloudflare had an internal error; run again later (www.cloudflarestatus.com)'
        : 'Cloudflare refused the request; see its message',
    );
  }

  /** The zone's id (looked up once). */
  zoneId(): Promise<string> {
    this.#zoneId ??= this.#lookUpZone();
    const pending = this.#zoneId;
    pending.catch(() => {
      if (this.#zoneId === pending) this.#zoneId = undefined; // a failure is not cached
    });
    return pending;
  }

  async #lookUpZone(): Promise<string> {
    const env = await this.#call('GET', `/zones?name=${encodeURIComponent(this.zone)}`);
    const zones = Array.isArray(env?.result)
      ? (env.result as { id?: unknown; name?: unknown }[])
      : [];
    const zone = zones.find((z) => z.name === this.zone && typeof z.id === 'string');
    if (!zone) {
      throw new ShoestringError(`Cloudflare has no zone ${this.zone} that this token can see`, {
        hint: "check CLOUDFLARE_ZONE (the zone holding DOMAIN), and that the token's zone resources include it",
      });
    }
    return encodeURIComponent(String(zone.id));
  }

  #name(fqdn: string): string {
    const name = fqdn.trim().toLowerCase().replace(/\.$/, '');
    if (name !== this.zone && !name.endsWith(`.${this.zone}`)) {
      throw new ShoestringError(`${fqdn} is not in the Cloudflare zone ${this.zone}`, {
        hint: 'check CLOUDFLARE_ZONE: it must be DOMAIN or a parent of it',
      });
    }
    return name;
  }

  /** The records of one name and type, every page (filtered here too: exact name and type). */
  async records(type: string, fqdn: string): Promise<CloudflareRecord[]> {
    const name = this.#name(fqdn);
    const zoneId = await this.zoneId();
    const out: CloudflareRecord[] = [];
    for (let page = 1; ; page++) {
      const query = new URLSearchParams({
        type,
        'name.exact': name,
        per_page: '100',
        page: String(page),
      });
      const env = await this.#call('GET', `/zones/${zoneId}/dns_records?${query}`);
      const rows = Array.isArray(env?.result) ? (env.result as Partial<CloudflareRecord>[]) : [];
      for (const r of rows) {
        if (typeof r.id !== 'string' || r.type !== type) continue;
        if (String(r.name).toLowerCase() !== name) continue;
        out.push({
          id: r.id,
          type: r.type,
          name,
          content: String(r.content ?? ''),
          ttl: Number(r.ttl),
          proxied: r.proxied === true,
        });
      }
      if (page >= (env?.result_info?.total_pages ?? 1) || rows.length === 0) return out;
    }
  }

  async listA(fqdn: string): Promise<string[]> {
    return (await this.records('A', fqdn)).map((r) => r.content).sort();
  }

  // Exact: creates the missing addresses first (never a moment with none), fixes the TTL of the
  // kept ones, then deletes the others and any duplicate.
  async setA(fqdn: string, addresses: readonly string[], ttl: number): Promise<void> {
    const name = this.#name(fqdn);
    const zoneId = await this.zoneId();
    const wanted = [...new Set(addresses)];
    const kept = new Map<string, CloudflareRecord>();
    const extra: CloudflareRecord[] = [];
    for (const r of await this.records('A', name)) {
      if (wanted.includes(r.content) && !kept.has(r.content)) kept.set(r.content, r);
      else extra.push(r);
    }
    const path = `/zones/${zoneId}/dns_records`;
    for (const content of wanted) {
      if (kept.has(content)) continue;
      const record = { type: 'A', name, content, ttl, proxied: false };
      await this.#call('POST', path, record, [IDENTICAL_RECORD_EXISTS]);
    }
    for (const r of kept.values()) {
      // A proxied record's TTL is Cloudflare's ("automatic"): not ours to fix.
      if (r.ttl !== ttl && !r.proxied)
        await this.#call('PATCH', `${path}/${encodeURIComponent(r.id)}`, { ttl });
    }
    for (const r of extra)
      await this.#call('DELETE', `${path}/${encodeURIComponent(r.id)}`, undefined, [
        RECORD_NOT_FOUND,
      ]);
  }

  async addTxt(fqdn: string, value: string, ttl: number): Promise<void> {
    const name = this.#name(fqdn);
    const current = await this.records('TXT', name);
    if (current.some((r) => unquoteTxt(r.content) === value)) return;
    const zoneId = await this.zoneId();
    const record = { type: 'TXT', name, content: quoteTxt(value), ttl: Math.max(ttl, 60) };
    await this.#call('POST', `/zones/${zoneId}/dns_records`, record, [IDENTICAL_RECORD_EXISTS]);
  }

  async removeTxt(fqdn: string, value: string): Promise<void> {
    const name = this.#name(fqdn);
    const zoneId = await this.zoneId();
    for (const r of await this.records('TXT', name)) {
      if (unquoteTxt(r.content) !== value) continue;
      await this.#call(
        'DELETE',
        `/zones/${zoneId}/dns_records/${encodeURIComponent(r.id)}`,
        undefined,
        [RECORD_NOT_FOUND],
      );
    }
  }
}
