/**
 * The one HTTP request helper of the DNS providers (PowerDNS, ClouDNS, Cloudflare): a timeout on
 * every attempt, and retries only where repeating the request cannot do harm.
 *
 * - Rate limited (HTTP 429, or a provider's own "slow down" reply): always retried, honouring
 *   Retry-After (capped): the provider did not process the request.
 * - 5xx, timeouts, connection errors: retried only for idempotent requests (reads and deletes).
 *   A create (POST) that failed this way may or may not have been applied; resending it blindly
 *   could duplicate a record, so it is not retried. The callers' exact `setA` lists the records
 *   again on the next run and converges, whichever way the uncertain request went.
 *
 * Errors name the provider, the method and the path (never the query string or the body), the
 * HTTP status and the provider's message, and are passed through `redact()`.
 */
import { ShoestringError } from '../errors.ts';
import { redact } from '../redact.ts';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface HttpOptions {
  /** Named in errors: 'ClouDNS', 'Cloudflare', 'PowerDNS'. */
  readonly provider: string;
  /** The .env key of the API's address, when the user sets it (PDNS_API_URL): named in the hint
   * of a request that got no answer. */
  readonly setting?: string | undefined;
  /** Called before every attempt (the lab checks its network bridge here). */
  readonly beforeRequest?: (() => Promise<void>) | undefined;
  /** Per attempt, in ms (default 10 s). */
  readonly timeoutMs?: number | undefined;
  /** The wait before each retry, in ms; their count is the number of retries (default 3). */
  readonly retryDelaysMs?: readonly number[] | undefined;
  /** The longest Retry-After honoured, in ms (default 30 s). */
  readonly maxRetryAfterMs?: number | undefined;
  /** A reply that says "rate limited" in the provider's own way (ClouDNS: HTTP 200 + Failed). */
  readonly rateLimited?: ((status: number, text: string) => boolean) | undefined;
}

export interface HttpRequest {
  readonly method: HttpMethod;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Repeating it is harmless (reads, deletes). Default: GET and DELETE are, the rest not. */
  readonly idempotent?: boolean;
}

export interface HttpReply {
  readonly status: number;
  readonly text: string;
  /** How many attempts were made (1 = no retry). */
  readonly attempts: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [500, 2_000, 5_000];
export const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;

/** An error of a provider's API, one line, with what to do next. */
export class DnsApiError extends ShoestringError {
  constructor(
    readonly provider: string,
    readonly what: string,
    readonly status: number | undefined,
    detail: string,
    hint: string,
  ) {
    const http = status === undefined ? '' : ` → HTTP ${status}`;
    super(redact(`${provider} API: ${what}${http}${detail ? ` (${detail})` : ''}`), {
      hint: redact(hint),
    });
  }
}

/** "METHOD /path" of a request, without its query string (which could carry anything). */
export function describeRequest(method: string, url: string): string {
  return `${method} ${new URL(url).pathname}`;
}

/** The first `max` characters of a reply body on one line, for error messages. */
export function excerpt(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/**
 * How long to wait before retrying a rate-limited request: Retry-After in seconds or as an HTTP
 * date, else `fallback`; never more than `max`.
 */
export function retryAfterMs(
  header: string | null,
  fallback: number,
  max: number,
  now = Date.now(),
): number {
  let ms = fallback;
  const v = header?.trim() ?? '';
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else if (v !== '' && !Number.isNaN(Date.parse(v))) ms = Math.max(0, Date.parse(v) - now);
  return Math.min(ms, max);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function connectionDetail(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  return `connection failed: ${code ?? (err instanceof Error ? err.message : String(err))}`;
}

/**
 * Sends one request, retrying as the header comment says. Returns the last reply whatever its
 * status (the caller reads the provider's error out of it); throws DnsApiError when no reply came.
 */
export async function httpRequest(options: HttpOptions, req: HttpRequest): Promise<HttpReply> {
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRetryAfter = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const idempotent = req.idempotent ?? (req.method === 'GET' || req.method === 'DELETE');
  const what = describeRequest(req.method, req.url);
  for (let attempt = 0; ; attempt++) {
    const delay = delays[attempt];
    if (options.beforeRequest) await options.beforeRequest();
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await fetch(req.url, {
        method: req.method,
        headers: { Accept: 'application/json', ...req.headers },
        ...(req.body === undefined ? {} : { body: req.body }),
        signal,
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text(); // still under the same timeout
    } catch (err) {
      if (idempotent && delay !== undefined) {
        await sleep(delay);
        continue;
      }
      const detail = isTimeout(err)
        ? `no answer within ${timeoutMs / 1000} s`
        : connectionDetail(err);
      const tries = attempt > 0 ? `, ${attempt + 1} attempts` : '';
      throw new DnsApiError(
        options.provider,
        what,
        undefined,
        `${detail}${tries}`,
        idempotent
          ? `check ${options.setting ? `${options.setting} in .env and ` : ''}this machine's network access to the ${options.provider} API, then run again`
          : 'the change may or may not have been applied; run again: it lists the records and converges',
      );
    }
    const limited = status === 429 || (options.rateLimited?.(status, text) ?? false);
    if (delay !== undefined && (limited || (idempotent && status >= 500))) {
      await sleep(limited ? retryAfterMs(retryAfter, delay, maxRetryAfter) : delay);
      continue;
    }
    return { status, text, attempts: attempt + 1 };
  }
}
