/**
 * How many A records a name may hold, and which servers hold them when more are healthy (pure).
 *
 * A DNS answer over UDP without EDNS is at most 512 bytes (RFC 1035): a 12-byte header, the
 * question (the name, at most 255 bytes in wire form, then 4 bytes of type and class) and one
 * 16-byte record per address (the name as a 2-byte pointer to the question, type, class, TTL,
 * length, 4 bytes of address). An answer that does not fit is cut and marked truncated, and the
 * client asks again over TCP: slower, and some clients and middleboxes never do. So by default
 * a name holds at most as many records as fit for the longest name, and the healthy servers
 * beyond take turns (a window that moves every DNS_ROTATE_MS).
 */

/** Bytes of a UDP answer without EDNS. */
export const CLASSIC_UDP_BYTES = 512;
/** The longest name in wire form (RFC 1035). */
export const LONGEST_NAME = 255;
const HEADER = 12;
const QUESTION_TAIL = 4;
const A_RECORD = 16;

/** How many A records fit in an answer of `bytes` for a name of `nameBytes` (wire form). */
export function recordsThatFit(bytes: number, nameBytes = LONGEST_NAME): number {
  return Math.max(0, Math.floor((bytes - HEADER - nameBytes - QUESTION_TAIL) / A_RECORD));
}

/** DNS_MAX_RECORDS' default: 15 (12 + 259 + 15 × 16 = 511 bytes). */
export const DEFAULT_MAX_RECORDS = recordsThatFit(CLASSIC_UDP_BYTES);

/** The published window moves this often (the same records for ten TTLs of 60 s). */
export const DNS_ROTATE_MS = 10 * 60_000;

/**
 * Which addresses to publish at `now`. `candidates`: the servers that may be published (listed,
 * not drained), in any order; `eligible`: those that are healthy. While no more than `max` are
 * eligible: all of them, as without a limit. Beyond: exactly `max` eligible ones, a window over
 * the candidates in address order that starts at position (window number × max) and takes the
 * eligible ones from there on, around the end; the window number grows by one every `everyMs`.
 * So the records stay the same for `everyMs` (caches and the provider are not churned), a
 * server that fails leaves at once and the next eligible one takes its place (one record
 * changes), and every eligible server is published within ceil(candidates / max) windows.
 * Sorted, as the records are compared.
 */
export function publishWindow(
  candidates: readonly string[],
  eligible: ReadonlySet<string>,
  max: number,
  now: number,
  everyMs = DNS_ROTATE_MS,
): string[] {
  const order = [...new Set(candidates)].sort();
  const ok = order.filter((a) => eligible.has(a));
  if (ok.length <= max) return ok;
  const start = (Math.floor(now / everyMs) * max) % order.length;
  const out: string[] = [];
  for (let i = 0; i < order.length && out.length < max; i++) {
    const a = order[(start + i) % order.length] as string;
    if (eligible.has(a)) out.push(a);
  }
  return out.sort();
}
