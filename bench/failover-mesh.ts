#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: how the mesh copes with a server that dies silently. A request loop (one request
 * every --interval ms, open loop, alternating between s1's and s2's fronts, Host app1.<lab
 * domain>, plain HTTP) runs for --before s, then s3 is partitioned (`scripts/lab.ts partition
 * s3`: its packets are dropped, nothing answers), the loop runs --during s more, s3 is healed and
 * the loop runs --after s. Prints the failures and latency for each period, and with --verbose
 * every failed or slow request with its time relative to the partition.
 * Run: node --import tsx bench/failover-mesh.ts [--boot] [--nginx] [--rounds 1] [--no-agent]
 *   --no-agent: stop the Shoestring agents while measuring (no mesh watch), to compare with.
 *   --boot: take the lab down, boot 3 servers and provision them first (--nginx: WEB_SERVER=nginx)
 *   without --boot: uses the lab as it is (3 servers, provisioned).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/lab/paths.ts';
import { formatSummary, startRequestLoop, summarize } from '../test/lab/request-loop.ts';
import { labCa, labTlsOn } from '../test/lab/stack-checks.ts';
import { labServersFile } from './servers-file.ts';

const { values } = parseArgs({
  options: {
    boot: { type: 'boolean', default: false },
    nginx: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    interval: { type: 'string', default: '50' },
    before: { type: 'string', default: '5' },
    during: { type: 'string', default: '30' },
    after: { type: 'string', default: '15' },
    verbose: { type: 'boolean', default: false },
    'no-agent': { type: 'boolean', default: false },
  },
});
const interval = Number(values.interval);
const sec = (v: string | undefined): number => Number(v) * 1000;

function run(script: string, args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A command in the background: a synchronous one would hold the loop back, then burst. */
function runAsync(script: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: repoRoot,
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${script} ${args.join(' ')}: exit ${code}`)),
    );
  });
}
const envPath = join(repoRoot, '.lab/.env');

if (values.boot) {
  run('scripts/lab.ts', ['down']);
  run('scripts/lab.ts', ['up', '3']);
  let env = envPath;
  if (values.nginx) {
    env = join(tmpdir(), 'shoestring-bench-failover.env');
    const text = readFileSync(envPath, 'utf8').replace(/^WEB_SERVER=.*\n?/m, '');
    writeFileSync(env, `${text.trimEnd()}\nWEB_SERVER=nginx\n`, { mode: 0o600 });
  }
  run('provision.ts', ['--servers', labServersFile(3, 'shoestring-bench-failover'), '--env', env]);
}

const addresses = readFileSync(join(repoRoot, '.lab/servers.txt'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter(Boolean);
const [s1 = '', s2 = ''] = addresses;
const domain = /^DOMAIN=(.*)$/m.exec(readFileSync(envPath, 'utf8'))?.[1] ?? 'shoestring.test';
const host = `app1.${domain}`;

// --no-agent: the agents stopped for the measurement (no mesh watch), to compare with.
const agents = (action: 'stop' | 'start'): void => {
  for (const name of ['s1', 's2', 's3'])
    run('scripts/lab.ts', ['ssh', name, `systemctl ${action} shoestring-agent`]);
};
if (values['no-agent']) agents('stop');
process.on('exit', () => {
  if (values['no-agent']) agents('start');
});

for (let round = 1; round <= Number(values.rounds); round++) {
  const loop = startRequestLoop({
    addresses: [s1, s2],
    host,
    intervalMs: interval,
    // Over HTTPS once the sites have their certificate (plain HTTP then only redirects).
    ...(labTlsOn() ? { https: { ca: await labCa() } } : {}),
  });
  await sleep(sec(values.before));
  const cut = loop.mark('partition');
  await runAsync('scripts/lab.ts', ['partition', 's3']);
  await sleep(sec(values.during));
  const heal = loop.mark('heal');
  await runAsync('scripts/lab.ts', ['heal', 's3']);
  await sleep(sec(values.after));
  const results = await loop.stop();
  const line = (label: string, from: number, to: number): void =>
    console.log(`${label}: ${formatSummary(summarize(results, { from, to }), cut)}`);
  console.log(`round ${round} (fronts ${s1}, ${s2}; ${host}; every ${interval} ms)`);
  line('  before the partition', 0, cut);
  line('  during the partition', cut, heal);
  line('  during, after its first 5 s', cut + 5000, heal);
  line('  after the heal', heal, Infinity);
  if (values.verbose)
    for (const r of results)
      if (!r.ok || r.ms > 1000)
        console.log(
          `    +${((r.at - cut) / 1000).toFixed(2)} s ${r.address} ${r.code || r.error} ${Math.round(r.ms)} ms`,
        );
  if (round < Number(values.rounds)) await sleep(10_000);
}
