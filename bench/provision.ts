#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: cold provision of 1 and of 3 fresh lab servers (apt proxy cache warm), and the
 * no-op re-run of 3; with --six also 6 servers (5 etcd voters and a proxy) cold and no-op. Each
 * time is measured around the whole `./provision.ts` process, start-up included. Goals: 3 servers
 * ≤ 1.3 × the time of 1; the no-op re-run of 3 ≤ 3 s.
 * Run: node --import tsx bench/provision.ts [--runs N] [--noop-runs N] [--six] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/lab/paths.ts';
import { labServersFile } from './servers-file.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    'noop-runs': { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
    six: { type: 'boolean', default: false },
  },
});
const runs = Math.max(1, Number(values.runs));
const noopRuns = Math.max(1, Number(values['noop-runs']));

function node(script: string, args: string[]): { seconds: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0)
    throw new Error(`${script} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { seconds, stdout: r.stdout };
}

function freshLab(n = 3): void {
  node('scripts/lab.ts', ['down']);
  node('scripts/lab.ts', ['up', String(n)]);
}

const serversFile = (n: number): string => labServersFile(n, 'shoestring-bench-servers');

function provision(n: number): { seconds: number; changed: number } {
  const r = node('provision.ts', ['--servers', serversFile(n), '--env', '.lab/.env', '--json']);
  const done = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; hosts?: { changed: number }[] })
    .find((e) => e.type === 'done');
  return { seconds: r.seconds, changed: (done?.hosts ?? []).reduce((a, h) => a + h.changed, 0) };
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');

const one: number[] = [];
const three: number[] = [];
for (let i = 0; i < runs; i++) {
  freshLab();
  one.push(provision(1).seconds);
  console.log(`run ${i + 1}: cold provision of 1 server: ${one.at(-1)?.toFixed(1)} s`);
  freshLab();
  three.push(provision(3).seconds);
  console.log(`run ${i + 1}: cold provision of 3 servers: ${three.at(-1)?.toFixed(1)} s`);
}
// A re-run comes later, not while the servers are still busy after their first install.
const settle = () => spawnSync('sleep', ['10']);
settle();
const noop: number[] = [];
for (let i = 0; i < noopRuns; i++) {
  const r = provision(3);
  if (r.changed !== 0) console.log(`warning: no-op run ${i + 1} changed ${r.changed}`);
  noop.push(r.seconds);
}
const six: number[] = [];
const sixNoop: number[] = [];
if (values.six) {
  for (let i = 0; i < runs; i++) {
    freshLab(6);
    six.push(provision(6).seconds);
    console.log(`run ${i + 1}: cold provision of 6 servers: ${six.at(-1)?.toFixed(1)} s`);
  }
  settle();
  for (let i = 0; i < noopRuns; i++) sixNoop.push(provision(6).seconds);
}
if (!values.keep) node('scripts/lab.ts', ['down']);
const ratio = median(three) / median(one);
console.log(`cold 1 server:  median ${median(one).toFixed(1)} s (runs ${fmt(one)})`);
console.log(
  `cold 3 servers: median ${median(three).toFixed(1)} s (runs ${fmt(three)}) = ${ratio.toFixed(2)} × 1 server (goal ≤ 1.3)`,
);
console.log(
  `no-op 3:        median ${median(noop).toFixed(2)} s (runs ${noop.map((x) => x.toFixed(2)).join(', ')}) (goal ≤ 3 s)`,
);
if (values.six) {
  console.log(`cold 6 servers: median ${median(six).toFixed(1)} s (runs ${fmt(six)})`);
  console.log(
    `no-op 6:        median ${median(sixNoop).toFixed(2)} s (runs ${sixNoop.map((x) => x.toFixed(2)).join(', ')})`,
  );
}
