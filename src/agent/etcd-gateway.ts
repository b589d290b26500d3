/**
 * A small etcd v3 client over the JSON gateway (HTTPS, with root's client certificate): what the
 * agent needs and nothing more (get, put, delete, a create-only transaction, leases). Keys and
 * values travel base64-encoded, as the gateway wants. No gRPC library: the agent stays one file.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

export interface EtcdTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
  readonly lease: string | undefined;
}

export class EtcdUnavailable extends Error {}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** The end of a prefix range: the prefix with its last byte incremented. */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i] ?? 0;
    if (byte < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = byte + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

interface RawKv {
  key?: string;
  value?: string;
  mod_revision?: string;
  lease?: string;
}

export function parseKvs(kvs: RawKv[] | undefined): KeyValue[] {
  return (kvs ?? []).map((kv) => ({
    key: unb64(kv.key),
    value: unb64(kv.value),
    modRevision: Number(kv.mod_revision ?? 0),
    lease: kv.lease && kv.lease !== '0' ? kv.lease : undefined,
  }));
}

/** JSON text → value; undefined when it is not JSON. */
export function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export class EtcdGateway {
  readonly #agent: Agent;
  /** The endpoint that answered last (tried first). */
  #preferred: string | undefined;

  /**
   * `endpoints` is asked before every call (a server's list can change under the agent: an
   * etcd proxy's members); they are tried in turn, the last one that answered first.
   */
  constructor(
    private readonly endpoints: () => readonly string[],
    tls: EtcdTls,
    readonly timeoutMs = 3000,
  ) {
    this.#agent = new Agent({
      ca: readFileSync(tls.ca),
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
      keepAlive: true,
    });
  }

  /** One gateway call, to the first endpoint that answers; else EtcdUnavailable. */
  async post<T>(path: string, body: unknown): Promise<T> {
    const list = [...this.endpoints()];
    const first = this.#preferred !== undefined ? list.indexOf(this.#preferred) : -1;
    const order = first > 0 ? [...list.slice(first), ...list.slice(0, first)] : list;
    let last: unknown = new EtcdUnavailable('no etcd endpoint');
    for (const endpoint of order) {
      try {
        const answer = await this.#postTo<T>(new URL(endpoint), path, body);
        this.#preferred = endpoint;
        return answer;
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  #postTo<T>(url: URL, path: string, body: unknown): Promise<T> {
    const data = JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path,
          method: 'POST',
          agent: this.#agent,
          timeout: this.timeoutMs,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(data),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            if (res.statusCode !== 200) {
              reject(
                new EtcdUnavailable(`etcd ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`),
              );
              return;
            }
            try {
              // A streaming call (keepalive) answers one JSON object per line: take the first.
              resolve(JSON.parse(text.split('\n')[0] ?? '{}') as T);
            } catch {
              reject(new EtcdUnavailable(`etcd ${path}: unreadable answer`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new EtcdUnavailable(`etcd ${path}: timed out`)));
      req.on('error', (e) =>
        reject(
          e instanceof EtcdUnavailable ? e : new EtcdUnavailable(`etcd ${path}: ${e.message}`),
        ),
      );
      req.end(data);
    });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const r = await this.post<{ kvs?: RawKv[] }>('/v3/kv/range', { key: b64(key) });
    return parseKvs(r.kvs)[0];
  }

  /** A key's value as JSON; undefined when it is missing or not JSON. */
  async getJson<T>(key: string): Promise<T | undefined> {
    const kv = await this.get(key);
    return kv ? parseJson<T>(kv.value) : undefined;
  }

  async getPrefix(prefix: string): Promise<KeyValue[]> {
    const r = await this.post<{ kvs?: RawKv[] }>('/v3/kv/range', {
      key: b64(prefix),
      range_end: prefixEnd(prefix).toString('base64'),
    });
    return parseKvs(r.kvs);
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.post('/v3/kv/put', {
      key: b64(key),
      value: b64(value),
      ...(lease ? { lease } : {}),
    });
  }

  async del(key: string): Promise<void> {
    await this.post('/v3/kv/deleterange', { key: b64(key) });
  }

  /** Puts `key` only if it does not exist; true when this call created it. */
  async create(key: string, value: string, lease?: string): Promise<boolean> {
    const r = await this.post<{ succeeded?: boolean }>('/v3/kv/txn', {
      compare: [{ key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
      success: [{ request_put: { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) } }],
    });
    return r.succeeded === true;
  }

  /** Puts `key` only while it still holds `lease` (the holder refreshing its own record). */
  async putIfLease(key: string, value: string, lease: string): Promise<boolean> {
    const r = await this.post<{ succeeded?: boolean }>('/v3/kv/txn', {
      compare: [{ key: b64(key), target: 'LEASE', result: 'EQUAL', lease }],
      success: [{ request_put: { key: b64(key), value: b64(value), lease } }],
    });
    return r.succeeded === true;
  }

  async grant(ttlSeconds: number): Promise<string> {
    const r = await this.post<{ ID?: string }>('/v3/lease/grant', { TTL: String(ttlSeconds) });
    if (!r.ID) throw new EtcdUnavailable('etcd lease grant: no lease id');
    return r.ID;
  }

  /** Refreshes a lease; returns its remaining TTL (0 or less: the lease is gone). */
  async keepAlive(lease: string): Promise<number> {
    const r = await this.post<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: lease });
    return Number(r.result?.TTL ?? 0);
  }

  async revoke(lease: string): Promise<void> {
    await this.post('/v3/lease/revoke', { ID: lease });
  }
}
