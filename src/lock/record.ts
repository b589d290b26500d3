/**
 * The operator lock's holder record (pure): who holds the cluster-wide lock, stored as one JSON
 * line in the lock file and as the value of the etcd key. Its freshness is not in the record:
 * the file's mtime (refreshed by its holder) or the etcd lease says whether it is still held. The
 * record says how long that lasts (`ttl`), so a run with a shorter LOCK_TTL cannot take the lock
 * of a live holder with a longer one.
 */

/** LOCK_TTL's default; also the TTL of a record from before records carried one. */
export const DEFAULT_TTL_SECONDS = 60;

export interface HolderRecord {
  /** The operator's login name on their machine. */
  readonly user: string;
  /** The operator's machine (its host name). */
  readonly machine: string;
  readonly pid: number;
  /** The command that holds the lock, e.g. "./provision.ts". */
  readonly command: string;
  /** When the lock was taken (ISO 8601). */
  readonly since: string;
  /** Random hex: only the holder knows it, so only the holder removes its own lock. */
  readonly token: string;
  /** Seconds the lock outlives its last refresh (the holder's LOCK_TTL); absent in old records. */
  readonly ttl?: number;
}

/** One JSON line, keys in a fixed order. */
export function formatRecord(record: HolderRecord): string {
  const { user, machine, pid, command, since, token, ttl } = record;
  return JSON.stringify({ user, machine, pid, command, since, token, ttl });
}

/** The record in a line, or undefined when the line is not a well-formed record. */
export function parseRecord(line: string): HolderRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line.trim());
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const { user, machine, pid, command, since, token, ttl } = v;
  if (
    typeof user !== 'string' ||
    typeof machine !== 'string' ||
    typeof pid !== 'number' ||
    !Number.isInteger(pid) ||
    typeof command !== 'string' ||
    typeof since !== 'string' ||
    typeof token !== 'string' ||
    !/^[0-9a-f]+$/.test(token) ||
    (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1))
  ) {
    return undefined;
  }
  return ttl === undefined
    ? { user, machine, pid, command, since, token }
    : { user, machine, pid, command, since, token, ttl };
}

/**
 * Whether a lock last refreshed at `mtimeSeconds` has expired at `nowSeconds` (both Unix
 * seconds, as `stat -c %Y` and `date +%s` print them). The acquire script applies the same rule.
 */
export function isExpired(mtimeSeconds: number, nowSeconds: number, ttlSeconds: number): boolean {
  return nowSeconds - mtimeSeconds >= ttlSeconds;
}

/** "alice@laptop (pid 4242, ./provision.ts)" */
export function holderName(record: HolderRecord): string {
  return `${record.user}@${record.machine} (pid ${record.pid}, ${record.command})`;
}

/**
 * "the cluster is locked by alice@laptop (pid 4242, ./provision.ts) since 2026-12-01 22:40:12 UTC
 * (41 s ago)"
 */
export function describeHolder(record: HolderRecord, now: Date): string {
  const since = new Date(record.since);
  if (Number.isNaN(since.getTime())) {
    return `the cluster is locked by ${holderName(record)} since ${record.since}`;
  }
  return `the cluster is locked by ${holderName(record)} since ${formatUtc(since)} (${formatAge(now.getTime() - since.getTime())} ago)`;
}

/** "2026-12-01 22:40:12 UTC" */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "41 s", "12 min", "3 h", "2 d" (a negative age, from clocks that disagree, counts as 0). */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.floor(h / 24)} d`;
}
