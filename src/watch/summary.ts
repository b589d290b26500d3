/** watch-curl's bookkeeping and formatting (pure). */

export interface Attempt {
  readonly address: string;
  /** Why connecting to it failed. */
  readonly error: string;
}

export interface RequestResult {
  /** HTTP status, or 0 when no address answered. */
  readonly code: number;
  /** The address that answered (or the last one tried). */
  readonly remoteIp: string;
  readonly servedBy: string | undefined;
  /** Addresses that refused or timed out before this one answered. */
  readonly skipped: readonly Attempt[];
  readonly error: string | undefined;
  readonly ms: number;
}

export function isSuccess(r: RequestResult): boolean {
  return r.code >= 200 && r.code < 400;
}

/** One line, like the seed's `curl -w "http_code: %{http_code} from remote_ip: %{remote_ip}"`. */
export function formatResult(r: RequestResult): string {
  const skipped =
    r.skipped.length > 0
      ? ` (skipped ${r.skipped.map((a) => `${a.address}: ${a.error}`).join(', ')})`
      : '';
  const err = r.error ? ` error: ${r.error}` : '';
  return `http_code: ${r.code} from remote_ip: ${r.remoteIp || '-'} served_by: ${r.servedBy ?? '-'} time_ms: ${Math.round(r.ms)}${err}${skipped}`;
}

export interface Tally {
  ok: number;
  fail: number;
}

export interface Summary {
  readonly total: Tally;
  readonly byAddress: Map<string, Tally>;
  readonly byServer: Map<string, number>;
}

export function newSummary(): Summary {
  return { total: { ok: 0, fail: 0 }, byAddress: new Map(), byServer: new Map() };
}

/** Adds one result (mutates the summary: it is the loop's running state). */
export function record(s: Summary, r: RequestResult): void {
  const ok = isSuccess(r);
  const bump = (t: Tally) => (ok ? t.ok++ : t.fail++);
  bump(s.total);
  for (const a of r.skipped) {
    const t = s.byAddress.get(a.address) ?? { ok: 0, fail: 0 };
    t.fail++;
    s.byAddress.set(a.address, t);
  }
  if (r.remoteIp) {
    const t = s.byAddress.get(r.remoteIp) ?? { ok: 0, fail: 0 };
    bump(t);
    s.byAddress.set(r.remoteIp, t);
  }
  if (ok && r.servedBy) s.byServer.set(r.servedBy, (s.byServer.get(r.servedBy) ?? 0) + 1);
}

export function formatSummary(s: Summary): string {
  const addr = [...s.byAddress.entries()]
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([a, t]) => `${a} ${t.ok} ok/${t.fail} failed`)
    .join(', ');
  const served = [...s.byServer.entries()]
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([n, c]) => `${n} ${c}`)
    .join(', ');
  return `requests: ${s.total.ok + s.total.fail} (${s.total.ok} ok, ${s.total.fail} failed) · by address: ${addr || '-'} · served by: ${served || '-'}`;
}

/** '1s', '500ms', '2m', '1.5' (seconds) → milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000;
}

/**
 * The addresses to try for request number i: with resolveAll, only the i-th address in turn
 * (each server's front gets its share); otherwise all, rotated like round-robin DNS, so the
 * next ones are the fallbacks when a connection fails.
 */
export function addressesFor(
  addresses: readonly string[],
  i: number,
  resolveAll: boolean,
): string[] {
  if (addresses.length === 0) return [];
  const start = i % addresses.length;
  const rotated = [...addresses.slice(start), ...addresses.slice(0, start)];
  return resolveAll ? rotated.slice(0, 1) : rotated;
}
