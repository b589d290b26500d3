/**
 * A write loop for the database: POST https://app2.<domain>/rows?token=<prefix>-<n> like a
 * browser would send it, resolving the name at the lab's DNS before each request (so a server
 * withdrawn from DNS stops being chosen) and trying its addresses in random order, each with a
 * 2 s connect timeout. Open loop: one write every `intervalMs`, whatever the earlier ones do.
 * Each result says whether the write was acknowledged (200): only those must survive.
 */
import { Resolver } from 'node:dns/promises';
import { request } from 'node:https';
import { guardAddress } from '../../src/watch/guard.ts';
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

async function resolveAll(dns: string, host: string): Promise<string[]> {
  await guardAddress(dns);
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([dns]);
  try {
    return await r.resolve4(host);
  } catch {
    return [];
  }
}

function post(
  address: string,
  host: string,
  path: string,
  ca: Buffer,
): Promise<{ code: number; connected: boolean; error?: string; body?: string }> {
  return new Promise((resolve) => {
    let connected = false;
    const req = request(
      {
        host: address,
        port: 443,
        method: 'POST',
        path,
        servername: host,
        headers: { Host: host },
        ca,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body = (body + d).slice(0, 200)));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, connected: true, body }));
        res.on('error', (e) => resolve({ code: 0, connected: true, error: e.message }));
      },
    );
    const connectTimer = setTimeout(() => {
      if (!connected) req.destroy(new Error('connect timeout'));
    }, 2000);
    req.on('socket', (s) =>
      s.on('secureConnect', () => ((connected = true), clearTimeout(connectTimer))),
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => {
      clearTimeout(connectTimer);
      resolve({ code: 0, connected, error: e.message });
    });
    req.end();
  });
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

/** `p`, or `fallback` after `ms` (a write must never hold the loop up for good). */
function within<T>(p: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback()), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
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
        const addresses = (await resolveAll(o.dns, o.host)).sort(() => Math.random() - 0.5);
        let last: { code: number; address: string; error: string | undefined; body: string } = {
          code: 0,
          address: '',
          error: 'no address',
          body: '',
        };
        for (const address of addresses) {
          await guardAddress(address);
          const r = await within(
            post(address, o.host, `/rows?token=${token}`, o.ca),
            40_000,
            () => ({
              code: 0,
              connected: true,
              error: 'no answer in 40 s',
            }),
          );
          last = {
            code: r.code,
            address,
            error: r.error,
            body: r.code === 200 ? '' : (r.body ?? ''),
          };
          // Only a connection that never opened is tried elsewhere (as browsers do): a write
          // that reached a server is not sent twice.
          if (r.connected) break;
        }
        results.push({ token, at, ms: performance.now() - t0 - at, ...last });
      })(),
    );
  }
  log(`write loop: all ${o.count} writes started; waiting for the answers`);
  await Promise.all(pending);
  log('write loop: done');
  return results.sort((a, b) => a.at - b.at);
}
