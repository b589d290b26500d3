/**
 * A write loop for the database: POST https://app2.<domain>/rows?token=<prefix>-<n> like a
 * browser would send it, resolving the name at the lab's DNS before each request (so a server
 * withdrawn from DNS stops being chosen) and trying its addresses in random order, each with a
 * 2 s connect timeout. Open loop: one write every `intervalMs`, whatever the earlier ones do.
 * Each result says whether the write was acknowledged (200): only those must survive.
 */
import { request } from 'node:https';
import { guardAddress } from '../../src/watch/guard.ts';
import { browserCall } from './browser.ts';
import { log } from './helpers.ts';

export interface WriteResult {
  readonly token: string;
  /** ms since the loop started. */
  readonly at: number;
  readonly ms: number;
  readonly code: number;
  readonly address: string;
  readonly error: string | undefined;
  /** The start of the answer's body when it was not 200. */
  readonly body: string;
}

export interface WriteLoopOptions {
  readonly host: string;
  readonly dns: string;
  readonly ca: Buffer;
  readonly count: number;
  readonly intervalMs: number;
  readonly prefix: string;
  /** Called after the n-th write started (to partition a server mid-way). */
  readonly onStart?: (n: number) => void;
}

/**
 * One HTTPS request to `host` through the front at `address` (checked against `ca`); code 0 and
 * the error's message as the body when there was no answer.
 */
export async function httpsCall(
  address: string,
  host: string,
  ca: Buffer,
  method: string,
  path: string,
): Promise<{ code: number; body: string }> {
  await guardAddress(address);
  return new Promise((resolve) => {
    const req = request(
      {
        host: address,
        port: 443,
        method,
        path,
        servername: host,
        headers: { Host: host },
        ca,
        agent: false,
        timeout: 30_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        res.on('error', (e) => resolve({ code: 0, body: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ code: 0, body: e.message }));
    req.end();
  });
}

export async function runWriteLoop(o: WriteLoopOptions): Promise<WriteResult[]> {
  const t0 = performance.now();
  const results: WriteResult[] = [];
  const pending: Promise<void>[] = [];
  for (let n = 0; n < o.count; n++) {
    const wait = n * o.intervalMs - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    o.onStart?.(n);
    const token = `${o.prefix}-${n}`;
    const at = performance.now() - t0;
    pending.push(
      (async () => {
        const r = await browserCall({
          dns: o.dns,
          host: o.host,
          ca: o.ca,
          method: 'POST',
          path: `/rows?token=${token}`,
        });
        const last = { code: r.code, address: r.address, error: r.error, body: r.body };
        results.push({ token, at, ms: performance.now() - t0 - at, ...last });
      })(),
    );
  }
  log(`write loop: all ${o.count} writes started; waiting for the answers`);
  await Promise.all(pending);
  log('write loop: done');
  return results.sort((a, b) => a.at - b.at);
}
