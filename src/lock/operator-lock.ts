/**
 * One operator at a time: the cluster-wide lock that `provision` and `destroy` hold while they
 * run. It lives on the first server of servers.txt that answers (see scripts.ts for what it is
 * there), is refreshed every TTL/4 while held, and expires by itself TTL seconds after its
 * holder stops refreshing it (a killed run). `breakLock` removes someone else's live lock first.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { ConnectError, LockError } from '../errors.ts';
import type { Target, Transport } from '../ssh/transport.ts';
import { describeHolder, formatAge, formatUtc, holderName, type HolderRecord } from './record.ts';
import {
  acquireScript,
  DEFAULT_TTL_SECONDS,
  parseAcquireOutput,
  parseRefreshOutput,
  parseReleaseOutput,
  refreshScript,
  releaseScript,
  type LockEntry,
  type LockScriptOptions,
} from './scripts.ts';

export interface OperatorLockOptions {
  /** What holds the lock, shown to whoever is refused, e.g. "./provision.ts". */
  readonly command: string;
  /** Remove an existing lock (its holder is named through onWarn) before taking ours. */
  readonly breakLock?: boolean;
  /** Seconds a lock outlives its holder's last refresh (default 60). */
  readonly ttlSeconds?: number;
  /** Warnings: a lock broken or taken over, refreshes failing, a release that failed. */
  readonly onWarn?: (message: string) => void;
  /** Where the scripts keep the lock (tests only). */
  readonly scriptOptions?: LockScriptOptions;
}

export interface OperatorLock {
  /** The target name of the server that holds the lock. */
  readonly server: string;
  /** Gives the lock up and stops refreshing it. Idempotent; never throws (warns instead). */
  release(): Promise<void>;
}

const ACQUIRE_TIMEOUT_MS = 60_000;
const REFRESH_TIMEOUT_MS = 20_000;

/**
 * Takes the cluster-wide operator lock on the first of `targets` that answers (an unreachable
 * one, a ConnectError, passes to the next). Throws LockError when someone else holds it (the
 * message names them, the hint names --break-lock) or when no server answered; a script that
 * fails on the server throws its CommandError.
 */
export async function acquireOperatorLock(
  transport: Transport,
  targets: readonly Target[],
  options: OperatorLockOptions,
): Promise<OperatorLock> {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const warn = options.onWarn ?? (() => undefined);
  const scriptOptions = options.scriptOptions ?? {};
  const record: HolderRecord = {
    user: currentUser(),
    machine: hostname(),
    pid: process.pid,
    command: options.command,
    since: new Date().toISOString(),
    token: randomBytes(16).toString('hex'),
    ttl: ttlSeconds,
  };
  const script = acquireScript(record, {
    ttlSeconds,
    breakLock: options.breakLock ?? false,
    ...scriptOptions,
  });
  const unreachable: ConnectError[] = [];
  for (const target of targets) {
    let stdout: string;
    try {
      ({ stdout } = await transport.run(target, script, {
        what: 'Take the operator lock',
        timeoutMs: ACQUIRE_TIMEOUT_MS,
      }));
    } catch (e) {
      if (e instanceof ConnectError) {
        unreachable.push(e);
        continue;
      }
      throw e;
    }
    const outcome = parseAcquireOutput(stdout);
    if (!outcome) {
      throw new LockError(
        `${target.name}: could not understand the operator lock's answer: ${firstLine(stdout)}`,
      );
    }
    if (outcome.result === 'held') {
      throw new LockError(heldMessage(outcome.holder, target.name, new Date()), {
        hint: `wait for that run to finish; if it is gone, its lock expires ${outcome.holder.record?.ttl ?? DEFAULT_TTL_SECONDS} s after its last refresh, or run again with --break-lock to remove it now`,
      });
    }
    for (const message of replacedMessages(outcome.replaced, target.name)) warn(message);
    return startHeld(transport, target, record.token, outcome.leaseId, {
      ttlSeconds,
      warn,
      scriptOptions,
    });
  }
  if (unreachable.length === 0) throw new LockError('no server to hold the operator lock');
  throw new LockError(
    `could not take the operator lock: no server answered (${unreachable.map((e) => e.message).join('; ')})`,
    { hint: 'check that the servers in servers.txt are up and reachable over SSH' },
  );
}

function startHeld(
  transport: Transport,
  target: Target,
  token: string,
  leaseId: string | undefined,
  o: { ttlSeconds: number; warn: (m: string) => void; scriptOptions: LockScriptOptions },
): OperatorLock {
  let failures = 0;
  let lost = false;
  let inFlight: Promise<void> | undefined;
  let released: Promise<void> | undefined;

  const refresh = async (): Promise<void> => {
    let problem: string;
    try {
      const { stdout } = await transport.run(
        target,
        refreshScript(token, leaseId, o.scriptOptions),
        { what: 'Refresh the operator lock', timeoutMs: REFRESH_TIMEOUT_MS },
      );
      const r = parseRefreshOutput(stdout);
      if (r && (r.file === 'lost' || r.etcd === 'lost')) {
        lost = true;
        clearInterval(timer);
        o.warn(
          `the operator lock on ${target.name} was lost (${r.file === 'lost' ? 'its lock file is gone or another holder took it' : 'its etcd lease expired'}): another operator may now run at the same time`,
        );
        return;
      }
      if (r && r.etcd !== 'failed') {
        failures = 0;
        return;
      }
      problem = r ? 'etcd did not keep its lease alive' : `unexpected answer: ${firstLine(stdout)}`;
    } catch (e) {
      problem = e instanceof Error ? e.message : String(e);
    }
    failures++;
    if (failures === 2) {
      o.warn(
        `could not refresh the operator lock on ${target.name} twice in a row (${problem}); it expires ${o.ttlSeconds} s after its last refresh`,
      );
    }
  };

  const timer = setInterval(
    () => {
      if (inFlight || lost) return;
      inFlight = refresh().finally(() => (inFlight = undefined));
    },
    Math.max(1, o.ttlSeconds / 4) * 1000,
  );
  timer.unref();

  const doRelease = async (): Promise<void> => {
    clearInterval(timer);
    await inFlight;
    try {
      const { stdout } = await transport.run(
        target,
        releaseScript(token, leaseId, o.scriptOptions),
        { what: 'Release the operator lock', timeoutMs: REFRESH_TIMEOUT_MS },
      );
      const r = parseReleaseOutput(stdout);
      if (!r) {
        o.warn(
          `releasing the operator lock on ${target.name}: unexpected answer: ${firstLine(stdout)}`,
        );
      } else if (r.etcd === 'failed') {
        o.warn(
          `could not revoke the operator lock's etcd lease on ${target.name}; it expires within ${o.ttlSeconds} s`,
        );
      }
    } catch (e) {
      o.warn(
        `could not release the operator lock on ${target.name} (${e instanceof Error ? e.message : String(e)}); it expires within ${o.ttlSeconds} s`,
      );
    }
  };

  return {
    server: target.name,
    release: () => (released ??= doRelease()),
  };
}

/** The refusal: who holds the lock (or that its record is unreadable). */
function heldMessage(holder: LockEntry, server: string, now: Date): string {
  if (holder.record) return describeHolder(holder.record, now);
  const where = holder.source === 'file' ? 'lock file' : 'etcd key';
  return `the cluster is locked, but its ${where} on ${server} holds no readable record (${holder.raw || 'empty'})`;
}

/**
 * One warning per lock we removed (broken on purpose, or expired and taken over); the file and
 * the etcd key of one holder make one warning.
 */
function replacedMessages(entries: readonly LockEntry[], server: string): string[] {
  const byHolder = new Map<string, LockEntry[]>();
  for (const e of entries) byHolder.set(e.raw, [...(byHolder.get(e.raw) ?? []), e]);
  return [...byHolder.values()].map((group) => {
    const entry = group[0] as LockEntry;
    const who = entry.record
      ? `${holderName(entry.record)}, taken ${sinceText(entry.record.since)}`
      : `an unreadable record: ${entry.raw || 'empty'}`;
    const parts = group.map((e) => (e.source === 'file' ? 'lock file' : 'etcd key')).join(' and ');
    const fileAge = group.find((e) => e.ageSeconds !== undefined)?.ageSeconds;
    const age = fileAge === undefined ? '' : `, last refreshed ${formatAge(fileAge * 1000)} ago`;
    return group.every((e) => e.state === 'expired')
      ? `took over the expired operator lock on ${server} (its ${parts}; ${who}${age})`
      : `broke the operator lock on ${server} (its ${parts}) held by ${who}${age}`;
  });
}

function sinceText(since: string): string {
  const d = new Date(since);
  return Number.isNaN(d.getTime()) ? since : formatUtc(d);
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'unknown';
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 200) ?? '';
}
