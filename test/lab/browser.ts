/**
 * One HTTPS request the way a browser sends it to a round-robin name: resolve the name at the
 * lab's DNS (so a server withdrawn from DNS stops being chosen), try its addresses in random
 * order, each with a 2 s connect timeout, and move on to the next address only when no
 * connection opened (a request that reached a server is never sent twice). Lab addresses are
 * checked against the lab bridge first (guardAddress), so nothing leaves the machine.
 */
import { Resolver } from 'node:dns/promises';
import { request } from 'node:https';
import { guardAddress } from '../../src/watch/guard.ts';

export interface BrowserAnswer {
  /** HTTP status, 0 when there was no answer. */
  readonly code: number;
  /** The address that answered (or the last one tried). */
  readonly address: string;
  readonly error: string | undefined;
  /** The start of the body (200 characters). */
  readonly body: string;
}

export interface BrowserRequest {
  readonly dns: string;
  readonly host: string;
  readonly ca: Buffer;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** No complete answer after this long: failed (default 40 s). */
  readonly deadlineMs?: number;
}

export async function resolveAll(dns: string, host: string): Promise<string[]> {
  await guardAddress(dns);
  // A stub resolver sends a lost or unanswered query again (glibc: 2 attempts), so does this one:
  // with one try, a single UDP query that the busy lab DNS answered after 1 s failed a request.
  const r = new Resolver({ timeout: 1000, tries: 3 });
  r.setServers([dns]);
  try {
    return await r.resolve4(host);
  } catch {
    return [];
  }
}

interface Attempt {
  code: number;
  connected: boolean;
  error?: string;
  body?: string;
}

function attempt(address: string, o: BrowserRequest): Promise<Attempt> {
  return new Promise((resolve) => {
    let connected = false;
    const req = request(
      {
        host: address,
        port: 443,
        method: o.method,
        path: o.path,
        servername: o.host,
        headers: { Host: o.host },
        ca: o.ca,
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

/** `p`, or `fallback` after `ms` (a request must never hold a loop up for good). */
function within<T>(p: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback()), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export async function browserCall(o: BrowserRequest): Promise<BrowserAnswer> {
  const deadline = o.deadlineMs ?? 40_000;
  const addresses = (await resolveAll(o.dns, o.host)).sort(() => Math.random() - 0.5);
  let last: BrowserAnswer = { code: 0, address: '', error: 'no address', body: '' };
  for (const address of addresses) {
    await guardAddress(address);
    const r = await within(attempt(address, o), deadline, () => ({
      code: 0,
      connected: true,
      error: `no answer in ${deadline / 1000} s`,
    }));
    last = { code: r.code, address, error: r.error, body: r.code === 200 ? '' : (r.body ?? '') };
    if (r.connected) break;
  }
  return last;
}
