#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: failed requests around a silent failure and its heal, under the chaos suite's
 * browser-like load (reads of app1 and app2, writes of app2 rows; test/lab/load.ts). Needs the
 * lab up with 3 servers provisioned with DATABASE=galera. Each round: partition a server for
 * `--cut` seconds (30), heal it, 20 s more; failures counted in the first 20 s of the cut (or
 * all of it, if shorter), the rest of the cut, and the 20 s after the heal. `--read-every` and
 * `--write-every` (ms, 100 and 200 as in the chaos suite) make the load denser, so that the
 * second or so around each event holds more requests. Prints up to four failures of each round.
 * Run: node --import tsx bench/partition-heal.ts [--rounds N] [--cut S] [--read-every MS] [--write-every MS]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'dotenv';
import { labAsync } from '../test/lab/helpers.ts';
import { countWindow, startLoad, type LoadResult } from '../test/lab/load.ts';
import { DOMAIN, labCa, sleep } from '../test/lab/stack-checks.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    cut: { type: 'string', default: '30' },
    'read-every': { type: 'string', default: '100' },
    'write-every': { type: 'string', default: '200' },
  },
});
const cutMs = Number(values.cut) * 1000;
const dns = parse(readFileSync('.lab/.env'))['LAB_DNS'] ?? '172.30.0.1';
const totals = { cut: [0, 0], heal: [0, 0] };
for (let i = 0; i < Number(values.rounds); i++) {
  const victim = `s${(i % 3) + 1}`;
  const load = startLoad({
    dns,
    ca: await labCa(),
    domain: DOMAIN(),
    prefix: `bench-${Date.now()}`,
    readEveryMs: Number(values['read-every']),
    writeEveryMs: Number(values['write-every']),
  });
  await sleep(3000);
  await labAsync('partition', victim);
  const cut = load.now();
  await sleep(cutMs);
  await labAsync('heal', victim);
  const healed = load.now();
  await sleep(20_000);
  const r = await load.stop();
  const first = Math.min(cut + 20_000, healed);
  const w = (from: number, to: number, total?: number[]): string => {
    const c = countWindow(r, from, to);
    if (total) {
      total[0] = (total[0] ?? 0) + c.failed;
      total[1] = (total[1] ?? 0) + c.requests;
    }
    return `${c.failed}/${c.requests}`;
  };
  console.log(
    `round ${i + 1} (${victim}): first ${((first - cut) / 1000).toFixed(0)} s ${w(cut, first, totals.cut)}, rest of the cut ${w(first, healed)}, 20 s after the heal ${w(healed, healed + 20_000, totals.heal)}`,
  );
  for (const [name, from, to] of [
    ['cut', cut, healed],
    ['heal', healed, healed + 20_000],
  ] as const)
    for (const e of countWindow(r, from, to).examples) console.log(`  ${name} ${e}`);
  slowest(r, cut);
}
console.log(
  `total: cut ${totals.cut[0]}/${totals.cut[1]} failed, after the heal ${totals.heal[0]}/${totals.heal[1]}`,
);

/** The requests that started in the first second of the cut and took over 1 s (retried or failed late). */
function slowest(r: readonly LoadResult[], cut: number): void {
  const slow = r.filter((x) => x.at >= cut && x.at < cut + 1000 && x.ms > 1000);
  if (slow.length > 0)
    console.log(
      `  first second of the cut: ${slow.length} request(s) over 1 s (${slow.map((x) => `${(x.ms / 1000).toFixed(1)} s ${x.ok ? 'ok' : x.code}`).join(', ')})`,
    );
}
