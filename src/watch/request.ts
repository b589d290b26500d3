/**
 * One request like curl with several A records: connect to each address in turn until one
 * accepts (refused / unreachable / connect timeout → the next), then send the request there
 * with the name in the Host header (and SNI for HTTPS).
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Attempt, RequestResult } from './summary.ts';

export interface RequestSpec {
  readonly name: string;
  readonly path: string;
  readonly https: boolean;
  /** Default 80, or 443 with https. */
  readonly port?: number;
  readonly ca: Buffer | undefined;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
}

type Outcome =
  | { kind: 'connect-failed'; error: string }
  | { kind: 'done'; code: number; servedBy: string | undefined; error: string | undefined };

function fixedLookup(address: string): LookupFunction {
  return ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (options?.all) cb(null, [{ address, family: 4 }]);
    else cb(null, address, 4);
  }) as unknown as LookupFunction; // node's overloads; we always answer one IPv4 address
}

function once(spec: RequestSpec, address: string): Promise<Outcome> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const finish = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      resolve(o);
    };
    const options = {
      host: spec.name,
      port: spec.port ?? (spec.https ? 443 : 80),
      path: spec.path,
      method: 'GET',
      headers: { 'User-Agent': 'shoestring-watch-curl', Connection: 'close' },
      lookup: fixedLookup(address),
      agent: false as const,
      ...(spec.https ? { servername: spec.name, ...(spec.ca ? { ca: spec.ca } : {}) } : {}),
    };
    const req = (spec.https ? https : http).request(options, (res) => {
      const served = res.headers['x-served-by'];
      res.resume();
      res.on('end', () =>
        finish({
          kind: 'done',
          code: res.statusCode ?? 0,
          servedBy: Array.isArray(served) ? served[0] : served,
          error: undefined,
        }),
      );
      res.on('error', (e) =>
        finish({ kind: 'done', code: res.statusCode ?? 0, servedBy: undefined, error: e.message }),
      );
    });
    const connectTimer = setTimeout(() => {
      if (!connected) {
        finish({ kind: 'connect-failed', error: 'connect timeout' });
        req.destroy();
      }
    }, spec.connectTimeoutMs);
    const totalTimer = setTimeout(() => {
      finish({ kind: 'done', code: 0, servedBy: undefined, error: 'timeout' });
      req.destroy();
    }, spec.timeoutMs);
    req.on('socket', (s) => {
      const mark = () => (connected = true);
      s.once(spec.https ? 'secureConnect' : 'connect', mark);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) finish({ kind: 'connect-failed', error: e.code ?? e.message });
      else finish({ kind: 'done', code: 0, servedBy: undefined, error: e.code ?? e.message });
    });
    req.end();
  });
}

export async function requestOnce(
  spec: RequestSpec,
  addresses: readonly string[],
): Promise<RequestResult> {
  const started = performance.now();
  const skipped: Attempt[] = [];
  for (const address of addresses) {
    const o = await once(spec, address);
    if (o.kind === 'connect-failed') {
      skipped.push({ address, error: o.error });
      continue;
    }
    return {
      code: o.code,
      remoteIp: address,
      servedBy: o.servedBy,
      skipped,
      error: o.error,
      ms: performance.now() - started,
    };
  }
  const last = skipped.at(-1);
  return {
    code: 0,
    remoteIp: '',
    servedBy: undefined,
    skipped,
    error: last ? 'no address accepted the connection' : 'no addresses',
    ms: performance.now() - started,
  };
}
