#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: cold provision of N fresh lab servers (apt proxy cache warm; `lab down` then
 * `up N` before every cold run) for each N of --sizes, then no-op re-runs of the same N. Each
 * time is measured around the whole `./provision.ts` process, start-up included, and so is its
 * peak memory (GNU time's maximum resident set size). Beyond 5 servers, 5 are etcd voters and
 * the rest run the etcd proxy. Goal: 5 servers ≤ 1.3 × the time of 1 where CPU allows.
 * Run: node --import tsx bench/provision.ts [--sizes 1,3,5,10] [--runs N] [--noop-runs N] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/lab/paths.ts';
import { labServersFile } from './servers-file.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,3' },
    runs: { type: 'string', default: '1' },
    'noop-runs': { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
});
const sizes = values.sizes.split(',').map(Number);
const runs = Math.max(1, Number(values.runs));
const noopRuns = Math.max(1, Number(values['noop-runs']));

interface Timed {
  seconds: number;
  stdout: string;
  /** Peak resident memory of the process, MiB. */
  rssMiB: number;
}

function node(script: string, args: string[], measureMemory = false): Timed {
  const t0 = process.hrtime.bigint();
  const cmd = measureMemory ? '/usr/bin/time' : process.execPath;
  const argv = ['--import', 'tsx', script, ...args];
  const r = spawnSync(
    cmd,
    measureMemory ? ['-f', 'maxrss_kib=%M', process.execPath, ...argv] : argv,
    {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0)
    throw new Error(`${script} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  const kib = Number(/maxrss_kib=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { seconds, stdout: r.stdout, rssMiB: kib / 1024 };
}

function freshLab(n: number): void {
  node('scripts/lab.ts', ['down']);
  node('scripts/lab.ts', ['up', String(n)]);
}

function provision(n: number): Timed & { changed: number } {
  const file = labServersFile(n, 'shoestring-bench-servers');
  const r = node('provision.ts', ['--servers', file, '--env', '.lab/.env', '--json'], true);
  const done = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; hosts?: { changed: number }[] })
    .find((e) => e.type === 'done');
  return { ...r, changed: (done?.hosts ?? []).reduce((a, h) => a + h.changed, 0) };
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const spread = (xs: number[], digits = 1): string =>
  `median ${median(xs).toFixed(digits)} (min ${Math.min(...xs).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)}; runs ${xs.map((x) => x.toFixed(digits)).join(', ')})`;

const results = new Map<number, { cold: number[]; noop: number[]; rss: number[] }>();
for (const n of sizes) {
  const r = { cold: [] as number[], noop: [] as number[], rss: [] as number[] };
  results.set(n, r);
  for (let i = 0; i < runs; i++) {
    freshLab(n);
    const c = provision(n);
    r.cold.push(c.seconds);
    r.rss.push(c.rssMiB);
    console.log(
      `cold ${n}, run ${i + 1}: ${c.seconds.toFixed(1)} s, peak memory ${c.rssMiB.toFixed(0)} MiB`,
    );
  }
  // A re-run comes later, not while the servers are still busy after their first install.
  spawnSync('sleep', ['10']);
  for (let i = 0; i < noopRuns; i++) {
    const p = provision(n);
    if (p.changed !== 0) console.log(`warning: no-op run ${i + 1} of ${n} changed ${p.changed}`);
    r.noop.push(p.seconds);
    r.rss.push(p.rssMiB);
  }
}
if (!values.keep) node('scripts/lab.ts', ['down']);
const base = median(results.get(sizes[0] ?? 1)?.cold ?? []);
for (const [n, r] of results) {
  console.log(
    `${n} server(s): cold ${spread(r.cold)} s = ${(median(r.cold) / base).toFixed(2)} × ${sizes[0]}; no-op ${spread(r.noop, 2)} s; peak memory ${Math.max(...r.rss).toFixed(0)} MiB`,
  );
}
