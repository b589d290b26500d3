#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: requests per second for app1 (a plain WSGI app), measured by wrk (Debian's
 * package, installed on s1 when missing) running on s1, 8 connections, in three set-ups:
 * - local:  HTTPS through s1's front and fastrouter to s1's own instance (the instances on s2
 *           and s3 are stopped for the run, so the router has only the local one);
 * - remote: the same, with s1's instance stopped instead, so every request crosses the private
 *           network (WireGuard) to an instance on s2 or s3: the cost of the mesh;
 * - direct: the instance alone, a copy of s1's app1 vassal speaking HTTP on 127.0.0.1 (no front,
 *           no fastrouter; a new loopback connection per request, as http-socket closes
 *           each one): what the front and the router cost.
 * Each set-up runs --runs times for --seconds; medians with min and max. Needs the lab up with 3
 * provisioned servers; everything it stops or adds is put back at the end.
 * Run: node --import tsx bench/throughput.ts [--runs 3] [--seconds 10]
 */
import { parseArgs } from 'node:util';
import { on } from '../test/lab/helpers.ts';
import { DOMAIN, labAddresses, sleep } from '../test/lab/stack-checks.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '10' } },
});
const VASSALS = '/etc/uwsgi-emperor/vassals';
const AWAY = '/root/bench-away';
const [s1 = '', s2 = '', s3 = ''] = labAddresses();
const host = `app1.${DOMAIN()}`;

async function must(address: string, command: string): Promise<string> {
  const r = await on(address, command);
  if (r.code !== 0) throw new Error(`${address}: ${command}: ${r.out}`);
  return r.out;
}

const stop = (a: string) => must(a, `mkdir -p ${AWAY} && mv ${VASSALS}/app-app1.ini ${AWAY}/`);
const start = (a: string) =>
  must(a, `if [ -f ${AWAY}/app-app1.ini ]; then mv ${AWAY}/app-app1.ini ${VASSALS}/; fi`);

/** app1's nodes in s1's fastrouter (its stats, JSON on 127.0.0.1). */
async function nodes(): Promise<number> {
  const port = await must(
    s1,
    `sed -n 's/^fastrouter-stats = 127.0.0.1:\\([0-9]*\\)/\\1/p' ${VASSALS}/fastrouter.ini`,
  );
  const stats = await must(s1, `timeout 2 bash -c 'cat < /dev/tcp/127.0.0.1/${port}' || true`);
  try {
    const s = JSON.parse(stats) as { subscriptions?: { key?: string; nodes?: unknown[] }[] };
    return s.subscriptions?.find((x) => x.key === host)?.nodes?.length ?? 0;
  } catch {
    return -1;
  }
}

async function waitNodes(n: number): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if ((await nodes()) === n) return;
    await sleep(500);
  }
  throw new Error(`s1's router never had ${n} app1 node(s)`);
}

async function wrk(url: string, extra = '', closes = false): Promise<number> {
  const out = await must(
    s1,
    `wrk -t2 -c8 -d${values.seconds}s ${extra} ${url} 2>&1 | sed -n 's/^Requests\\/sec: *//p;/Non-2xx/p;/Socket errors/p'`,
  );
  // A server that closes each connection shows up as read errors (wrk reconnects): only those
  // are expected, and only there.
  const e = /connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const bad =
    /Non-2xx/.test(out) ||
    (e !== null && (e[1] !== '0' || e[3] !== '0' || e[4] !== '0' || (!closes && e[2] !== '0')));
  if (bad) throw new Error(`wrk saw failures: ${out}`);
  return Number(out.split('\n').find((l) => /^[\d.]+$/.test(l)));
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fmt = (xs: number[]): string =>
  `median ${median(xs).toFixed(0)} req/s (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}; runs ${xs.map((x) => x.toFixed(0)).join(', ')})`;

await must(
  s1,
  'command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null',
);
const front = `https://127.0.0.1/`;
const results: Record<string, number[]> = { local: [], remote: [], direct: [] };
try {
  await Promise.all([stop(s2), stop(s3)]);
  await waitNodes(1);
  for (let i = 0; i < Number(values.runs); i++)
    results['local']?.push(await wrk(front, `-H 'Host: ${host}'`));
  await Promise.all([start(s2), start(s3), stop(s1)]);
  await waitNodes(2);
  for (let i = 0; i < Number(values.runs); i++)
    results['remote']?.push(await wrk(front, `-H 'Host: ${host}'`));
  await start(s1);
  await must(
    s1,
    `sed -e 's/^socket = .*/http-socket = 127.0.0.1:8099/' -e '/^subscribe/d' ${VASSALS}/app-app1.ini > ${VASSALS}/bench-direct.ini`,
  );
  await sleep(3000);
  for (let i = 0; i < Number(values.runs); i++)
    // uWSGI's http-socket closes each connection after its answer; wrk reconnects.
    results['direct']?.push(await wrk('http://127.0.0.1:8099/', '', true));
} finally {
  await on(s1, `rm -f ${VASSALS}/bench-direct.ini`);
  await Promise.all([start(s1), start(s2), start(s3)]);
}
for (const [k, xs] of Object.entries(results)) console.log(`${k.padEnd(7)} ${fmt(xs)}`);
const l = median(results['local'] ?? []);
console.log(
  `remote / local = ${(median(results['remote'] ?? []) / l).toFixed(2)}; direct / local = ${(median(results['direct'] ?? []) / l).toFixed(2)}`,
);
