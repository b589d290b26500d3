#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: what the private network costs. Two lab servers; s1's own instance of app1 is
 * stopped, so every request through s1's front goes over the mesh to s2's instance. `ab` (from
 * apache2-utils, installed with Apache) runs on s1 against its own front, so the host's network
 * is not measured. Two set-ups, each on a fresh lab, alternating so the machine's noise falls on
 * both: WireGuard (the default), and the servers' bridge addresses given as their private
 * addresses in servers.txt (no WireGuard: what a provider's private network would give).
 * Run: node --import tsx bench/network.ts [--rounds 2] [--requests 3000] [--concurrency 20]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/lab/paths.ts';
import { sshRun } from '../src/lab/ssh.ts';
import { labServersFile } from './servers-file.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    requests: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '20' },
    repeat: { type: 'string', default: '3' },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const repeat = Math.max(1, Number(values.repeat));
const env = join(repoRoot, '.lab/.env');

function run(script: string, args: string[]): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
}

async function remote(address: string, command: string): Promise<string> {
  const r = await sshRun(address, command);
  if (r.exitCode !== 0) throw new Error(`${address}: ${command}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Requests per second through s1's front to s2's instance, `repeat` times. */
async function measure(wireguard: boolean): Promise<number[]> {
  run('scripts/lab.ts', ['down']);
  run('scripts/lab.ts', ['up', '2']);
  const servers = labServersFile(2, 'shoestring-bench-network');
  let file = servers;
  if (!wireguard) {
    const lines = readFileSync(servers, 'utf8').split('\n').filter(Boolean);
    file = join(tmpdir(), 'shoestring-bench-network-own.txt');
    writeFileSync(file, lines.map((a) => `${a} ${a}`).join('\n') + '\n');
  }
  run('provision.ts', ['--servers', file, '--env', env]);
  const s1 = (readFileSync(file, 'utf8').split('\n')[0] ?? '').split(' ')[0] ?? '';
  const domain = /^DOMAIN=(.*)$/m.exec(readFileSync(env, 'utf8'))?.[1];
  // Stop s1's own app1 (the emperor stops a vassal whose file goes; it unsubscribes).
  await remote(s1, 'mv /etc/uwsgi-emperor/vassals/app-app1.ini /root/app-app1.ini.off; sleep 3');
  const who = await remote(
    s1,
    `for i in 1 2 3 4 5 6; do curl -s -m 5 -H 'Host: app1.${domain}' http://127.0.0.1/; echo; done`,
  );
  if (/by s1\b/.test(who) || !/by s2\b/.test(who))
    throw new Error(`s1's front should reach only s2's instance, got:\n${who}`);
  const rates: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const out = await remote(
      s1,
      `ab -q -n ${requests} -c ${concurrency} -H 'Host: app1.${domain}' http://127.0.0.1/ 2>&1`,
    );
    const failed = Number(/Failed requests:\s+(\d+)/.exec(out)?.[1] ?? NaN);
    const rps = Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    if (failed !== 0 || !Number.isFinite(rps)) throw new Error(`ab:\n${out}`);
    rates.push(rps);
  }
  return rates;
}

const result = { wireguard: [] as number[], own: [] as number[] };
for (let r = 0; r < rounds; r++) {
  result.wireguard.push(...(await measure(true)));
  result.own.push(...(await measure(false)));
}
run('scripts/lab.ts', ['down']);
const wg = median(result.wireguard);
const own = median(result.own);
console.log(`requests/s through s1's front to s2's instance (ab -n ${requests} -c ${concurrency})`);
console.log(`  WireGuard mesh:        median ${wg.toFixed(0)} (${result.wireguard.join(', ')})`);
console.log(`  no WireGuard (bridge): median ${own.toFixed(0)} (${result.own.join(', ')})`);
console.log(`  ratio WireGuard / none: ${(wg / own).toFixed(2)}`);
