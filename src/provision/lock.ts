/**
 * The operator lock around a command that changes the cluster (provision, destroy): taken after
 * preflight, before the first change; released on every way out. Dry runs change nothing and
 * take no lock.
 */
import type { Reporter } from '../plan/events.ts';
import { acquireOperatorLock } from '../lock/operator-lock.ts';
import type { Target } from '../ssh/target.ts';
import type { Transport } from '../ssh/transport.ts';

export interface LockOptions {
  /** The command, as the holder record names it (e.g. ./provision.ts). */
  readonly command: string;
  /** --break-lock: remove another operator's lock first (it is named in a warning). */
  readonly breakLock: boolean;
}

export async function withOperatorLock<T>(
  transport: Transport,
  targets: readonly Target[],
  options: LockOptions,
  reporter: Reporter,
  fn: () => Promise<T>,
): Promise<T> {
  const warn = (message: string) => reporter.event({ type: 'warn', host: 'lock', message });
  const lock = await acquireOperatorLock(transport, targets, {
    command: options.command,
    breakLock: options.breakLock,
    onWarn: warn,
  });
  reporter.event({ type: 'info', host: 'lock', message: `operator lock held on ${lock.server}` });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
