#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: this checkout's engine against another checkout's (an earlier commit in a git
 * worktree), on the same lab in the same sitting, runs alternating so that the machine's noise
 * falls on both: cold provision of 3 fresh servers, and the no-op re-run of 3 and of 6. Each time
 * is measured around the whole `provision.ts` process, start-up included.
 * Run: node --import tsx bench/engine.ts --other /path/to/other/checkout [--cold N] [--noop N]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/lab/paths.ts';
import { labServersFile } from './servers-file.ts';

const { values } = parseArgs({
  options: {
    other: { type: 'string' },
    cold: { type: 'string', default: '2' },
    noop: { type: 'string', default: '5' },
  },
});
if (!values.other) throw new Error('--other: the checkout to compare with');
const other = values.other;
const coldRuns = Math.max(1, Number(values.cold));
// --noop 0: cold runs only (two engines whose desired states differ must not share a cluster).
const noopRuns = Math.max(0, Number(values.noop));
const env = join(repoRoot, '.lab/.env');

function run(cwd: string, script: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0)
    throw new Error(
      `${cwd}: ${script} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`,
    );
  if (script === 'provision.ts' && !/ 0 failed /.test(r.stdout))
    throw new Error(`${cwd}: provision did not report 0 failed:\n${r.stdout}`);
  return seconds;
}

const serversFile = (n: number): string => labServersFile(n, 'shoestring-bench-engine');

const provision = (cwd: string, n: number) =>
  run(cwd, 'provision.ts', ['--servers', serversFile(n), '--env', env]);
const freshLab = (n: number) => {
  run(repoRoot, 'scripts/lab.ts', ['down']);
  run(repoRoot, 'scripts/lab.ts', ['up', String(n)]);
};
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const show = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');

const result: Record<string, { mine: number[]; theirs: number[] }> = {};
const record = (what: string, mine: boolean, seconds: number) => {
  const r = (result[what] ??= { mine: [], theirs: [] });
  (mine ? r.mine : r.theirs).push(seconds);
  console.log(`${what} (${mine ? 'this' : 'other'}): ${seconds.toFixed(2)} s`);
};

for (let i = 0; i < coldRuns; i++) {
  for (const mine of i % 2 === 0 ? [true, false] : [false, true]) {
    freshLab(3);
    record('cold 3', mine, provision(mine ? repoRoot : other, 3));
  }
}
for (const n of noopRuns > 0 ? [3, 6] : []) {
  if (n === 6) {
    freshLab(6);
    provision(repoRoot, 6);
  }
  spawnSync('sleep', ['10']); // let the servers settle after their install
  for (let i = 0; i < noopRuns; i++) {
    for (const mine of i % 2 === 0 ? [true, false] : [false, true])
      record(`no-op ${n}`, mine, provision(mine ? repoRoot : other, n));
  }
}
run(repoRoot, 'scripts/lab.ts', ['down']);
console.log('');
for (const [what, r] of Object.entries(result)) {
  console.log(
    `${what}: this median ${median(r.mine).toFixed(2)} s (${show(r.mine)}); other median ${median(r.theirs).toFixed(2)} s (${show(r.theirs)}); this/other = ${(median(r.mine) / median(r.theirs)).toFixed(2)}`,
  );
}
