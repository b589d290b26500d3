#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: failed requests while servers reboot, under the chaos suite's browser-like load
 * (reads of app1 and app2, writes of app2 rows; test/lab/load.ts). Needs the lab up (3 or more
 * servers) provisioned with DATABASE=galera. Each round reboots every server in turn: reboot,
 * wait until the cluster is clean again (every server in DNS, /healthz, Synced), --pause s more
 * (default 10).
 * Prints, per reboot, the failures in the 20 s after it and after that, each failure's time
 * after the reboot, the server that answered and what it answered; then the totals.
 * Run: node --import tsx bench/reboot.ts [--rounds N] [--pause S]
 */
import { parseArgs } from 'node:util';
import { currentLab, waitClean } from '../test/lab/chaos.ts';
import { labAsync } from '../test/lab/helpers.ts';
import { countWindow, startLoad, type LoadResult } from '../test/lab/load.ts';
import { sleep } from '../test/lab/stack-checks.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '2' }, pause: { type: 'string', default: '10' } },
});
const lab = currentLab();
const load = startLoad({
  dns: lab.dns,
  ca: await lab.ca(),
  domain: lab.domain,
  prefix: `bench-reboot-${Date.now()}`,
});
await sleep(3000);
const reboots: { name: string; at: number; cleanAt: number }[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const name of lab.names.values()) {
    const at = load.now();
    await labAsync('reboot', name);
    await sleep(5000);
    await waitClean(lab, 180);
    reboots.push({ name, at, cleanAt: load.now() });
    await sleep(Number(values.pause) * 1000);
  }
}
const results = await load.stop();
const end = (results.at(-1)?.at ?? 0) + 1;
const describe = (r: LoadResult, from: number): string =>
  `+${((r.at - from) / 1000).toFixed(1)} s ${r.kind} via ${lab.names.get(r.address) ?? (r.address || '-')}: ${r.code} ${(r.error ?? r.body).replace(/\s+/g, ' ').slice(0, 50)}`;
let during = 0;
let after = 0;
let requests = 0;
reboots.forEach((b, i) => {
  const next = reboots[i + 1]?.at ?? end;
  const first = countWindow(results, b.at, b.at + 20_000);
  const rest = countWindow(results, b.at + 20_000, next);
  during += first.failed;
  after += rest.failed;
  requests += first.requests + rest.requests;
  console.log(
    `${b.name} rebooted: clean after ${((b.cleanAt - b.at) / 1000).toFixed(0)} s; failed in the first 20 s ${first.failed}/${first.requests}, after ${rest.failed}/${rest.requests}`,
  );
  for (const r of results.filter((r) => !r.ok && r.at >= b.at && r.at < next))
    console.log(`  ${describe(r, b.at)}`);
});
console.log(
  `${reboots.length} reboots: ${during} failed in the first 20 s, ${after} after, of ${requests} requests`,
);
