/**
 * A request loop for failover measurements: GET http://<host>/ through the fronts at the given
 * addresses (port 80), one request every `intervalMs`, taking the addresses in turn. Requests
 * start on schedule whether or not the previous ones have answered (an open loop, as real
 * clients behave: a request that hangs does not hold back the next ones). Each result keeps
 * its start time, so a failure can be placed against the moment of a partition.
 *
 *   const loop = startRequestLoop({ addresses: [s1, s2], host: 'app1.shoestring.test' });
 *   const t0 = loop.mark('partition');   // ms since the loop started
 *   ...
 *   const results = await loop.stop();   // waits for the requests still in flight
 *   summarize(results, { from: t0 });
 *
 * Lab addresses are checked against the lab bridge first (guardAddress), so nothing leaves the
 * machine when the lab is down.
 */
import { guardAddress } from '../../src/watch/guard.ts';
import { requestOnce } from '../../src/watch/request.ts';

export interface LoopOptions {
  /** Fronts to send requests to, in turn (request i goes to addresses[i % length]). */
  readonly addresses: readonly string[];
  /** Host header (the app's name). */
  readonly host: string;
  readonly path?: string;
  /** Milliseconds between request starts (default 100). */
  readonly intervalMs?: number;
  /** A request with no complete answer after this long counts as failed (default 15 000). */
  readonly timeoutMs?: number;
  /** Connect timeout to the front itself (default 2 000). */
  readonly connectTimeoutMs?: number;
  /** HTTPS (port 443), trusting `ca`: the lab's sites once their certificate is installed. */
  readonly https?: { readonly ca: Buffer };
}

export interface LoopResult {
  readonly seq: number;
  readonly address: string;
  /** When the request started, in ms since the loop started. */
  readonly at: number;
  /** How long it took until the answer was complete (or it failed). */
  readonly ms: number;
  /** HTTP status, or 0 when there was no answer. */
  readonly code: number;
  readonly servedBy: string | undefined;
  readonly error: string | undefined;
  readonly ok: boolean;
}

export interface LoopSummary {
  readonly requests: number;
  readonly failures: number;
  /** failures / requests (0 when there were none). */
  readonly failureRate: number;
  /** Start time (ms since the loop started) of the last failed request, or undefined. */
  readonly lastFailureAt: number | undefined;
  /** Start time of the first failed request, or undefined. */
  readonly firstFailureAt: number | undefined;
  /** The slowest request that succeeded, in ms (0 when none did). */
  readonly worstOkMs: number;
  /** Failures by status ("500", "timeout", ...). */
  readonly byCode: Record<string, number>;
  /** Successful answers by the server that ran the app (X-Served-By). */
  readonly servedBy: Record<string, number>;
}

export interface RequestLoop {
  /** Records a named moment; returns it in ms since the loop started. */
  mark(label: string): number;
  readonly marks: ReadonlyMap<string, number>;
  /** Milliseconds since the loop started. */
  now(): number;
  /** Results so far (requests still in flight are not in it). */
  results(): readonly LoopResult[];
  /** Stops starting requests, waits for those in flight, returns every result by start time. */
  stop(): Promise<LoopResult[]>;
}

export const isOk = (code: number): boolean => code >= 200 && code < 400;

export function startRequestLoop(opts: LoopOptions): RequestLoop {
  if (opts.addresses.length === 0) throw new Error('startRequestLoop: no addresses');
  const interval = opts.intervalMs ?? 100;
  const spec = {
    name: opts.host,
    path: opts.path ?? '/',
    https: opts.https !== undefined,
    ca: opts.https?.ca,
    connectTimeoutMs: opts.connectTimeoutMs ?? 2000,
    timeoutMs: opts.timeoutMs ?? 15_000,
  };
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const done: LoopResult[] = [];
  const inFlight = new Set<Promise<void>>();
  const marks = new Map<string, number>();
  let seq = 0;
  let stopped = false;

  const fire = (): void => {
    const n = seq++;
    const address = opts.addresses[n % opts.addresses.length] ?? '';
    const at = now();
    const p = (async () => {
      try {
        await guardAddress(address);
        const r = await requestOnce(spec, [address]);
        done.push({
          seq: n,
          address,
          at,
          ms: r.ms,
          code: r.code,
          servedBy: r.servedBy,
          error: r.error ?? r.skipped[0]?.error,
          ok: isOk(r.code) && !r.error,
        });
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        done.push({
          seq: n,
          address,
          at,
          ms: now() - at,
          code: 0,
          servedBy: undefined,
          error,
          ok: false,
        });
      }
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  // Scheduled against the loop's start, so a slow event loop does not stretch the interval.
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    if (stopped) return;
    fire();
    timer = setTimeout(tick, Math.max(0, seq * interval - now()));
  };
  tick();

  return {
    mark(label) {
      const t = now();
      marks.set(label, t);
      return t;
    },
    marks,
    now,
    results: () => [...done].sort((a, b) => a.seq - b.seq),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      return [...done].sort((a, b) => a.seq - b.seq);
    },
  };
}

/** Failures and latency of the results that started in [from, to) (ms since the loop started). */
export function summarize(
  results: readonly LoopResult[],
  range: { from?: number; to?: number } = {},
): LoopSummary {
  const from = range.from ?? -Infinity;
  const to = range.to ?? Infinity;
  const picked = results.filter((r) => r.at >= from && r.at < to);
  const failed = picked.filter((r) => !r.ok);
  const byCode: Record<string, number> = {};
  for (const r of failed) {
    const k = r.code === 0 ? (r.error ?? 'no answer') : String(r.code);
    byCode[k] = (byCode[k] ?? 0) + 1;
  }
  const servedBy: Record<string, number> = {};
  for (const r of picked)
    if (r.ok) servedBy[r.servedBy ?? '?'] = (servedBy[r.servedBy ?? '?'] ?? 0) + 1;
  return {
    requests: picked.length,
    failures: failed.length,
    failureRate: picked.length === 0 ? 0 : failed.length / picked.length,
    lastFailureAt: failed.at(-1)?.at,
    firstFailureAt: failed[0]?.at,
    worstOkMs: Math.max(0, ...picked.filter((r) => r.ok).map((r) => r.ms)),
    byCode,
    servedBy,
  };
}

/**
 * One line: "412 requests, 3 failed (0.73 %: 500 ×3), failures from +0.12 s to +2.41 s, worst ok
 * 3012 ms, served by s1 205, s2 204", times relative to `origin` (ms since the loop started).
 */
export function formatSummary(s: LoopSummary, origin = 0): string {
  const codes = Object.entries(s.byCode)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  const rel = (t: number): string =>
    `${t - origin >= 0 ? '+' : ''}${((t - origin) / 1000).toFixed(2)} s`;
  const last =
    s.lastFailureAt === undefined
      ? 'no failure'
      : `failures from ${rel(s.firstFailureAt ?? 0)} to ${rel(s.lastFailureAt)}`;
  const served = Object.entries(s.servedBy)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `${s.requests} requests, ${s.failures} failed (${(s.failureRate * 100).toFixed(2)} %` +
    `${codes ? `: ${codes}` : ''}), ${last}, worst ok ${Math.round(s.worstOkMs)} ms` +
    `${served ? `, served by ${served}` : ''}`
  );
}
