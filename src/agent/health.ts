/**
 * Health failover, pure: each round's probe results go in, which servers belong in DNS comes
 * out. A server is withdrawn after `down` failures in a row and restored after `up` successes in
 * a row; the last server in DNS is never withdrawn (a site that answers badly beats a site that
 * does not resolve). Servers that provision drains are out whatever their health.
 */
import { publishWindow } from '../dns/window.ts';

export interface HealthThresholds {
  /** Failed rounds in a row before a server is withdrawn. */
  readonly down: number;
  /** Good rounds in a row before a withdrawn server is restored. */
  readonly up: number;
}

export interface ServerHealth {
  readonly address: string;
  /** In DNS (as far as health goes). */
  readonly in: boolean;
  readonly failures: number;
  readonly successes: number;
  /** Why the last probe failed. */
  readonly reason: string | undefined;
  /** When `in` last changed (ms since epoch). */
  readonly since: number;
}

export type HealthBook = Readonly<Record<string, ServerHealth>>;

export interface Probe {
  readonly host: string;
  readonly address: string;
  readonly ok: boolean;
  readonly reason?: string;
}

export interface HealthChange {
  readonly host: string;
  readonly address: string;
  readonly to: 'in' | 'out';
  readonly reason: string;
}

export interface Round {
  readonly book: HealthBook;
  readonly changes: HealthChange[];
}

/**
 * One round. `previous` is the book so far (a new holder starts from the book in etcd, so a
 * takeover neither forgets a withdrawn server nor withdraws one at once). A server the book does
 * not know yet starts in if DNS publishes it, else out: a server being provisioned is listed
 * before its front works, and comes in only after `up` good rounds. Servers not probed (no
 * longer listed) leave the book.
 */
export function applyRound(
  previous: HealthBook,
  probes: readonly Probe[],
  t: HealthThresholds,
  now: number,
  published: readonly string[],
): Round {
  const book: Record<string, ServerHealth> = {};
  const changes: HealthChange[] = [];
  for (const p of probes) {
    const before = previous[p.host];
    const wasIn = before?.in ?? published.includes(p.address);
    const failures = p.ok ? 0 : (before?.failures ?? 0) + 1;
    const successes = p.ok ? (before?.successes ?? 0) + 1 : 0;
    let isIn = wasIn;
    if (wasIn && failures >= t.down) isIn = false;
    if (!wasIn && successes >= t.up) isIn = true;
    book[p.host] = {
      address: p.address,
      in: isIn,
      failures,
      successes,
      reason: p.ok ? undefined : (p.reason ?? 'no answer'),
      since: isIn === wasIn && before ? before.since : now,
    };
    if (isIn !== wasIn) {
      changes.push({
        host: p.host,
        address: p.address,
        to: isIn ? 'in' : 'out',
        reason: isIn
          ? `${successes} good /healthz in a row`
          : `${failures} failed /healthz in a row (${p.reason ?? 'no answer'})`,
      });
    }
  }
  return { book, changes };
}

/** At most `max` records per name, the window at `now` (see publishWindow). */
export interface RecordLimit {
  readonly max: number;
  readonly now: number;
}

/**
 * Which addresses DNS should hold: listed servers that are in and not drained; with a `limit`,
 * at most `limit.max` of them, taking turns (publishWindow). Never none while servers are
 * listed: when no candidate is left, the servers currently published stay (or, when none is,
 * every listed one, within the limit): `keptLast` says so.
 */
export function wantedAddresses(
  listed: readonly { host: string; address: string }[],
  book: HealthBook,
  drained: ReadonlySet<string>,
  published: readonly string[],
  limit?: RecordLimit,
): { addresses: string[]; keptLast: boolean } {
  const within = (candidates: readonly string[], eligible: readonly string[]): string[] =>
    limit ? publishWindow(candidates, new Set(eligible), limit.max, limit.now) : sorted(eligible);
  const candidates = listed.filter((s) => !drained.has(s.host));
  const healthy = candidates.filter((s) => book[s.host]?.in ?? true);
  if (healthy.length > 0) {
    const addresses = within(
      candidates.map((s) => s.address),
      healthy.map((s) => s.address),
    );
    return { addresses, keptLast: false };
  }
  if (listed.length === 0) return { addresses: [], keptLast: false };
  // Nothing healthy left: keep what is published among the listed (else every listed server).
  const listedAddresses = new Set(listed.map((s) => s.address));
  const keep = published.filter((a) => listedAddresses.has(a));
  const kept = keep.length > 0 ? keep : [...listedAddresses];
  return { addresses: within(kept, kept), keptLast: true };
}

function sorted(a: readonly string[]): string[] {
  return [...new Set(a)].sort();
}
