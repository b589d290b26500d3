/**
 * The operator lock around a command that changes the cluster (provision, destroy). It is asked
 * for right after preflight while the read-only work (probes, planning) goes on; `ready()` is
 * awaited before the first change, and `release()` runs on every way out. Dry runs change nothing
 * and take no lock.
 */
import type { Reporter } from '../plan/events.ts';
import { acquireOperatorLock, type OperatorLock } from '../lock/operator-lock.ts';
import type { Target } from '../ssh/target.ts';
import type { Transport } from '../ssh/transport.ts';

export interface LockOptions {
  /** The command, as the holder record names it (e.g. ./provision.ts). */
  readonly command: string;
  /** --break-lock: remove another operator's lock first (it is named in a warning). */
  readonly breakLock: boolean;
  /** LOCK_TTL: seconds the lock outlives a run that died holding it. */
  readonly ttlSeconds: number;
}

export interface PendingLock {
  /** Resolves once the lock is held; rejects (LockError) when another operator holds it. */
  ready(): Promise<void>;
  /** Lets go of the lock if it was taken; never throws. */
  release(): Promise<void>;
}

/** No lock: for dry runs. */
export const NO_LOCK: PendingLock = {
  ready: () => Promise.resolve(),
  release: () => Promise.resolve(),
};

export function startOperatorLock(
  transport: Transport,
  targets: readonly Target[],
  options: LockOptions,
  reporter: Reporter,
): PendingLock {
  const warn = (message: string) => reporter.event({ type: 'warn', host: 'lock', message });
  const taking: Promise<OperatorLock> = acquireOperatorLock(transport, targets, {
    command: options.command,
    breakLock: options.breakLock,
    ttlSeconds: options.ttlSeconds,
    onWarn: warn,
  }).then((lock) => {
    reporter.event({ type: 'info', host: 'lock', message: `operator lock held on ${lock.server}` });
    return lock;
  });
  // Awaited by ready(); until then a refusal must not count as unhandled.
  taking.catch(() => undefined);
  return {
    ready: async () => {
      await taking;
    },
    release: async () => {
      const lock = await taking.catch(() => undefined);
      await lock?.release();
    },
  };
}

/** Runs `fn` holding the lock (taken first). */
export async function withOperatorLock<T>(
  transport: Transport,
  targets: readonly Target[],
  options: LockOptions,
  reporter: Reporter,
  fn: () => Promise<T>,
): Promise<T> {
  const lock = startOperatorLock(transport, targets, options, reporter);
  try {
    await lock.ready();
    return await fn();
  } finally {
    await lock.release();
  }
}
