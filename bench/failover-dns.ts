#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: the DNS failover window. A client loop like a browser's (every --interval ms:
 * resolve app1.<lab domain> at the lab DNS, no cache, then HTTPS to the addresses in turn, the
 * next one when a connection fails after 2 s, as curl does) runs while s3 is partitioned
 * (silent: nothing answers) and then healed. Measures: seconds until s3's record is withdrawn,
 * requests that failed or were slow (a connect to s3 timing out first), when the loop was last
 * slowed by s3, and seconds until s3 is back after the heal. Uses the lab as it is (3
 * servers, provisioned: `npm run demo` or `provision.ts --lab`).
 * Run: node --import tsx bench/failover-dns.ts [--rounds 3] [--interval 200]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'dotenv';
import { repoRoot } from '../src/lab/paths.ts';
import { pebbleRoot } from '../src/lab/pebble.ts';
import { guardAddress } from '../src/watch/guard.ts';
import { requestOnce } from '../src/watch/request.ts';
import { resolveAll } from '../test/lab/browser.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1' },
    interval: { type: 'string', default: '200' },
    during: { type: 'string', default: '30' },
  },
});
const env = parse(readFileSync(join(repoRoot, '.lab/.env')));
const dnsServer = env['LAB_DNS'] ?? '';
const host = `app1.${env['DOMAIN'] ?? 'shoestring.test'}`;
const addresses = readFileSync(join(repoRoot, '.lab/servers.txt'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter(Boolean);
const s3 = addresses[2] ?? '';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function lab(...args: string[]): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/lab.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`lab ${args.join(' ')}: ${r.stdout}${r.stderr}`);
}

/** The A records of the app's name at the lab DNS (the same look-up as the chaos load's). */
const resolveA = (): Promise<string[]> => resolveAll(dnsServer, host);

interface Sample {
  at: number;
  ok: boolean;
  ms: number;
  touchedS3: boolean;
  published: boolean;
}

await guardAddress(dnsServer);
for (const a of addresses) await guardAddress(a);
const ca = Buffer.from(await pebbleRoot(dnsServer));
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const rows: {
  out: number;
  failed: number;
  total: number;
  slow: number;
  clean: number;
  back: number;
}[] = [];

for (let round = 1; round <= Number(values.rounds); round++) {
  const samples: Sample[] = [];
  let running = true;
  let t0 = 0;
  const loop = (async () => {
    let i = 0;
    while (running) {
      const started = performance.now();
      const list = await resolveA();
      // Rotate like a resolver's round robin, so every address comes first in turn.
      const k = i++ % Math.max(1, list.length);
      const order = [...list.slice(k), ...list.slice(0, k)];
      const r = await requestOnce(
        { name: host, path: '/', https: true, ca, connectTimeoutMs: 2000, timeoutMs: 8000 },
        order,
      );
      samples.push({
        at: started - t0,
        ok: r.code === 200,
        ms: performance.now() - started,
        touchedS3: r.remoteIp === s3 || r.skipped.some((a) => a.address === s3),
        published: list.includes(s3),
      });
      await sleep(Number(values.interval));
    }
  })();
  await sleep(3000);
  t0 = performance.now();
  lab('partition', 's3');
  let out = NaN;
  while (performance.now() - t0 < Number(values.during) * 1000) {
    if (Number.isNaN(out) && !(await resolveA()).includes(s3))
      out = (performance.now() - t0) / 1000;
    await sleep(250);
  }
  const healAt = performance.now();
  lab('heal', 's3');
  let back = NaN;
  while (Number.isNaN(back) && performance.now() - healAt < 60_000) {
    if ((await resolveA()).includes(s3)) back = (performance.now() - healAt) / 1000;
    else await sleep(250);
  }
  running = false;
  await loop;
  const during = samples.filter((s) => s.at >= 0 && s.at < healAt - t0);
  const failed = during.filter((s) => !s.ok).length;
  const slow = during.filter((s) => s.ok && s.touchedS3).length;
  const lastBad = Math.max(
    0,
    ...during.filter((s) => !s.ok || s.touchedS3).map((s) => s.at / 1000),
  );
  rows.push({ out, failed, total: during.length, slow, clean: lastBad, back });
  console.log(
    `round ${round}: s3 withdrawn after ${out.toFixed(1)} s; ${failed}/${during.length} requests failed, ${slow} slowed by s3 (connect timeout, then the next address); loop clean after ${lastBad.toFixed(1)} s; s3 back ${back.toFixed(1)} s after heal`,
  );
  await sleep(5000);
}
console.log(
  `median: withdrawn after ${median(rows.map((r) => r.out)).toFixed(1)} s, clean after ${median(rows.map((r) => r.clean)).toFixed(1)} s, back after ${median(rows.map((r) => r.back)).toFixed(1)} s; failed ${rows.map((r) => `${r.failed}/${r.total}`).join(', ')}`,
);
