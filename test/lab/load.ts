/**
 * A constant load for the chaos suite, sent like browsers send it (see browser.ts): reads of
 * app1 (no database) and of app2's row count (a database read), and writes of app2's rows, each
 * on its own schedule, whatever the earlier requests do (an open loop: a hanging request does
 * not hold back the next ones). Every result keeps its start time, so failures can be placed
 * against the moment of a failure; every acknowledged write keeps its token, so the rows can be
 * checked afterwards.
 *
 *   const load = startLoad({ dns, ca, domain, prefix: 'partition' });
 *   const t = load.now();          // ms since the load started
 *   ...
 *   const results = await load.stop();
 */
import { browserCall } from './browser.ts';

export type LoadKind = 'read app1' | 'read app2' | 'write app2';

export interface LoadResult {
  readonly kind: LoadKind;
  /** Start, in ms since the load started. */
  readonly at: number;
  readonly ms: number;
  readonly code: number;
  readonly ok: boolean;
  readonly address: string;
  readonly error: string | undefined;
  readonly body: string;
  /** The row's token (writes). */
  readonly token: string | undefined;
}

export interface LoadOptions {
  readonly dns: string;
  readonly ca: Buffer;
  readonly domain: string;
  /** Tokens are `<prefix>-<n>`. */
  readonly prefix: string;
  /** ms between reads (each read alternates app1 and app2; default 100). */
  readonly readEveryMs?: number;
  /** ms between writes (default 200). */
  readonly writeEveryMs?: number;
}

export interface Load {
  now(): number;
  /** Stops starting requests and waits for those in flight. */
  stop(): Promise<LoadResult[]>;
}

export function startLoad(o: LoadOptions): Load {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const results: LoadResult[] = [];
  const pending = new Set<Promise<void>>();
  let stopped = false;

  const send = (kind: LoadKind, n: number): void => {
    const at = now();
    const token = kind === 'write app2' ? `${o.prefix}-${n}` : undefined;
    const host = kind === 'read app1' ? `app1.${o.domain}` : `app2.${o.domain}`;
    const p = (async () => {
      const r = await browserCall({
        dns: o.dns,
        host,
        ca: o.ca,
        method: token ? 'POST' : 'GET',
        path: token ? `/rows?token=${token}` : kind === 'read app1' ? '/' : '/rows/count',
      });
      results.push({ kind, at, ms: now() - at, ...r, ok: r.code === 200, token });
    })();
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const schedule = (everyMs: number, each: (n: number) => void): void => {
    let n = 0;
    const tick = (): void => {
      if (stopped) return;
      each(n++);
      // On schedule from t0, not from the last tick: a late tick is not pushed further back.
      setTimeout(tick, Math.max(0, n * everyMs - now()));
    };
    tick();
  };
  schedule(o.readEveryMs ?? 100, (n) => send(n % 2 === 0 ? 'read app1' : 'read app2', n));
  schedule(o.writeEveryMs ?? 200, (n) => send('write app2', n));

  return {
    now,
    async stop() {
      stopped = true;
      while (pending.size > 0) await Promise.all([...pending]);
      return results.sort((a, b) => a.at - b.at);
    },
  };
}

export interface WindowCount {
  readonly requests: number;
  readonly failed: number;
  readonly rate: number;
  /** A few failures, for the message: `at kind code error`. */
  readonly examples: readonly string[];
}

/** The requests that started in [from, to) ms. */
export function countWindow(results: readonly LoadResult[], from: number, to: number): WindowCount {
  const inside = results.filter((r) => r.at >= from && r.at < to);
  const failed = inside.filter((r) => !r.ok);
  return {
    requests: inside.length,
    failed: failed.length,
    rate: inside.length === 0 ? 0 : failed.length / inside.length,
    examples: failed
      .slice(0, 4)
      .map(
        (r) =>
          `+${((r.at - from) / 1000).toFixed(1)}s ${r.kind} via ${r.address || '-'} (${(r.ms / 1000).toFixed(1)} s): ${r.code} ${r.error ?? bodyWords(r.body)}`,
      ),
  };
}

/** An HTML page's title (the front's maintenance page: "Back soon"), else the body's start. */
function bodyWords(body: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(body)?.[1];
  return title !== undefined ? `page "${title}"` : body.slice(0, 60);
}
