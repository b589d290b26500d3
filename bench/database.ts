#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: the replicated database through app2 (lab, 3 servers provisioned with
 * DATABASE=galera: `npm run demo`, or provision with an env file adding DATABASE=galera).
 * 1. Writes per second through one front (s1, HTTPS): a closed loop of C clients, each POSTing
 *    /rows as soon as its previous write was acknowledged, for --seconds, at C = 1, 4 and 8.
 * 2. A member cut off silently: --rounds times, 1,000 writes through the round robin (resolving
 *    at the lab DNS before each, 30 ms apart) while s3 is partitioned after the 200th; counts
 *    failed writes, the window from the cut to the last failure, acknowledged writes missing
 *    afterwards (must be 0), and the seconds from the heal until 3 members are Synced again.
 * Run: node --import tsx bench/database.ts [--seconds 15] [--rounds 3]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'dotenv';
import { repoRoot } from '../src/lab/paths.ts';
import { pebbleRoot } from '../src/lab/pebble.ts';
import { sshRun } from '../src/lab/ssh.ts';
import { guardAddress } from '../src/watch/guard.ts';
import { httpsCall, runWriteLoop } from '../test/lab/write-loop.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '1' },
  },
});
const env = parse(readFileSync(join(repoRoot, '.lab/.env')));
const dns = env['LAB_DNS'] ?? '';
const host = `app2.${env['DOMAIN'] ?? 'shoestring.test'}`;
const addresses = readFileSync(join(repoRoot, '.lab/servers.txt'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter(Boolean);
const [s1 = ''] = addresses;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ca = Buffer.from(await pebbleRoot(dns));

function lab(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'scripts/lab.ts'), ...args],
      {
        stdio: 'ignore',
      },
    );
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`lab ${args.join(' ')}`))));
  });
}

const call = (address: string, method: string, path: string) =>
  httpsCall(address, host, ca, method, path);

async function throughput(clients: number, seconds: number): Promise<void> {
  await guardAddress(s1);
  const end = performance.now() + seconds * 1000;
  const ms: number[] = [];
  let failed = 0;
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (performance.now() < end) {
        const t = performance.now();
        const r = await call(s1, 'POST', `/rows?token=bench-${c}-${n++}`);
        if (r.code === 200) ms.push(performance.now() - t);
        else failed++;
      }
    }),
  );
  ms.sort((a, b) => a - b);
  const p = (q: number) => (ms[Math.floor(q * (ms.length - 1))] ?? 0).toFixed(0);
  console.log(
    `writes through s1, ${clients} client(s): ${(ms.length / seconds).toFixed(1)} writes/s, median ${p(0.5)} ms, p95 ${p(0.95)} ms, ${failed} failed`,
  );
}

async function synced(): Promise<boolean> {
  const states = await Promise.all(
    addresses.map(async (a) => {
      const r = await sshRun(a, `mariadb -N -B -e "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'"`);
      return r.stdout.trim().split(/\s+/)[1];
    }),
  );
  return states.every((s) => s === '3');
}

async function partitionRound(round: number): Promise<void> {
  let cutAt = 0;
  let cut: Promise<void> | undefined;
  const t0 = performance.now();
  const results = await runWriteLoop({
    host,
    dns,
    ca,
    count: 1000,
    intervalMs: 30,
    prefix: `bench${Date.now()}`,
    onStart: (n) => {
      if (n === 200) {
        cutAt = performance.now() - t0;
        cut = lab('partition', 's3');
      }
    },
  });
  await cut;
  const stored = new Set((await call(s1, 'GET', '/rows/tokens')).body.split('\n'));
  const acked = results.filter((r) => r.code === 200);
  const failed = results.filter((r) => r.code !== 200);
  const lost = acked.filter((r) => !stored.has(r.token)).length;
  const healAt = performance.now();
  await lab('heal', 's3');
  while (!(await synced())) await sleep(500);
  const back = (performance.now() - healAt) / 1000;
  const window =
    failed.length > 0
      ? `failures from +${(((failed[0]?.at ?? 0) - cutAt) / 1000).toFixed(1)} s to +${(((failed.at(-1)?.at ?? 0) - cutAt) / 1000).toFixed(1)} s after the cut`
      : 'no failure';
  const slow = acked.filter((r) => r.at >= cutAt).reduce((m, r) => Math.max(m, r.ms), 0);
  console.log(
    `partition round ${round}: ${results.length} writes, ${failed.length} failed (${((100 * failed.length) / results.length).toFixed(1)} %), ${window}; slowest acknowledged after the cut ${(slow / 1000).toFixed(1)} s; acknowledged lost ${lost}; 3 Synced ${back.toFixed(1)} s after the heal`,
  );
}

const seconds = Number(values.seconds);
for (const c of [1, 4, 8]) await throughput(c, seconds);
for (let r = 1; r <= Number(values.rounds); r++) await partitionRound(r);
