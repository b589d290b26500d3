/** Waiting for the lab's daemons to listen on the bridge address. */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShoestringError } from '../errors.ts';
import { assertBridge } from './network.ts';

export function portOpen(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('timeout', () => done(false));
    sock.once('error', () => done(false));
  });
}

/** Waits until address:port accepts TCP, failing early if the daemon died (`alive` false). */
export async function waitForPort(
  what: string,
  address: string,
  port: number,
  alive: () => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  await assertBridge(address);
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await portOpen(address, port, 500)) return;
    if (!alive()) throw new ShoestringError(`${what} exited at start`, { hint: 'see .lab/log/' });
    await sleep(100);
  }
  throw new ShoestringError(
    `${what} is not listening on ${address}:${port} after ${timeoutMs / 1000} s`,
  );
}
