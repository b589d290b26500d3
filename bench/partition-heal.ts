#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: failed requests around a silent failure and its heal, under the chaos suite's
 * browser-like load (reads of app1 and app2, writes of app2 rows; test/lab/load.ts). Needs the
 * lab up with 3 servers provisioned with DATABASE=galera. Each round: partition a server for
 * 30 s, heal it, 20 s more; failures counted in the first 20 s, the last 10 s of the cut, and
 * the 20 s after the heal.
 * Run: node --import tsx bench/partition-heal.ts [--rounds N]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'dotenv';
import { labAsync } from '../test/lab/helpers.ts';
import { countWindow, startLoad } from '../test/lab/load.ts';
import { DOMAIN, labCa, sleep } from '../test/lab/stack-checks.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const dns = parse(readFileSync('.lab/.env'))['LAB_DNS'] ?? '172.30.0.1';
for (let i = 0; i < Number(values.rounds); i++) {
  const victim = `s${(i % 3) + 1}`;
  const load = startLoad({
    dns,
    ca: await labCa(),
    domain: DOMAIN(),
    prefix: `bench-${Date.now()}`,
  });
  await sleep(3000);
  await labAsync('partition', victim);
  const cut = load.now();
  await sleep(30_000);
  await labAsync('heal', victim);
  const healed = load.now();
  await sleep(20_000);
  const r = await load.stop();
  const w = (from: number, to: number): string => {
    const c = countWindow(r, from, to);
    return `${c.failed}/${c.requests}`;
  };
  const line = `round ${i + 1} (${victim}): first 20 s ${w(cut, cut + 20_000)}, rest of the cut ${w(cut + 20_000, healed)}, 20 s after the heal ${w(healed, healed + 20_000)}`;
  console.log(line);
}
