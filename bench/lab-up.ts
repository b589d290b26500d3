#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: `scripts/lab.ts up 3` from a cached image, after a `down`. Prints seconds.
 * Run: node --import tsx bench/lab-up.ts [--runs N] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { quietZx } from '../src/cli/main.ts';
import { ensureImage } from '../src/lab/image.ts';
import { repoRoot } from '../src/lab/paths.ts';

quietZx();
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } },
});
const runs = Math.max(1, Number(values.runs));

function lab(...args: string[]): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/lab.ts', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`scripts/lab.ts ${args.join(' ')} exited ${r.status}`);
}

await ensureImage((l) => console.log(l));
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  lab('down');
  const t0 = process.hrtime.bigint();
  lab('up', '3');
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  console.log(`run ${i + 1}: lab up 3 in ${times.at(-1)!.toFixed(2)} s`);
}
if (!values.keep) lab('down');
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
console.log(
  `lab up 3 (cached image): median ${median.toFixed(2)} s over ${runs} runs (min ${sorted[0]!.toFixed(2)} s)`,
);
