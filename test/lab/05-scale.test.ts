/**
 * Scaling: a 4th lab server added to the servers file joins etcd and the mesh while two smoke
 * loops (scripts/watch-curl.ts through round-robin DNS) see no failed request; removed from the
 * file again, it is removed from etcd. Runs on the 3 servers the stack suites left provisioned.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labDnsProvider } from '../../src/lab/dns.ts';
import { on } from './helpers.ts';
import { labUp } from './provision-helpers.ts';
import {
  changeList,
  DOMAIN,
  etcdView,
  labAddresses,
  provision,
  servedBy,
  serversFile,
} from './stack-checks.ts';

const three = () => ['--servers', serversFile(3), '--env', '.lab/.env'];
const four = () => ['--servers', serversFile(4), '--env', '.lab/.env'];

interface Watcher {
  readonly done: Promise<{ code: number | null; out: string }>;
  stop(): void;
}

/** watch-curl in the background until stopped (SIGINT ends its loop and prints the summary). */
function watch(host: string): Watcher {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/watch-curl.ts',
      host,
      '--interval',
      '200ms',
      '--count',
      '100000',
      '--max-fail',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; out: string }>((r) =>
    child.on('close', (code) => r({ code, out })),
  );
  return { done, stop: () => child.kill('SIGINT') };
}

test.before(async () => {
  labUp(4);
  // The 3-server cluster, converged.
  const res = provision(three());
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  // Round-robin DNS for the apps: the three serving servers (the DNS component's job later).
  const env = parse(readFileSync('.lab/.env'));
  const dns = labDnsProvider(env['LAB_DNS'] ?? '', DOMAIN(), env['PDNS_API_KEY'] ?? '');
  await dns.setA(`*.${DOMAIN()}`, labAddresses().slice(0, 3), 60);
});

test('a 4th server joins etcd and the mesh while the smoke loops see no failed request', async () => {
  const loops = [watch(`app1.${DOMAIN()}`), watch(`app2.${DOMAIN()}`)];
  await new Promise((r) => setTimeout(r, 2000));
  const res = provision(four());
  await new Promise((r) => setTimeout(r, 2000));
  for (const l of loops) l.stop();
  const results = await Promise.all(loops.map((l) => l.done));
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  for (const r of results) {
    const summary =
      r.out
        .split('\n')
        .filter((l) => l.startsWith('requests:'))
        .at(-1) ?? r.out;
    assert.match(
      summary,
      /\(\d+ ok, 0 failed\)/,
      r.out
        .split('\n')
        .filter((l) => l.startsWith('FAIL'))
        .join('\n'),
    );
    assert.is(r.code, 0);
    assert.ok(
      Number(/requests: (\d+)/.exec(summary)?.[1]) > 20,
      'the loop ran during the provision',
    );
  }
});

test('etcd has 4 members and one leader; instances on the new server serve through an old front', async () => {
  const addrs = labAddresses().slice(0, 4);
  const views = await Promise.all(addrs.map((a) => etcdView(a)));
  assert.ok(
    views.every((v) => v.memberCount === 4),
    JSON.stringify(views),
  );
  assert.is(views.filter((v) => v.isLeader).length, 1);
  const newName = (await on(addrs[3] ?? '', 'hostname')).out;
  for (const app of ['app1', 'app2']) {
    const seen = await servedBy(addrs[0] ?? '', `${app}.${DOMAIN()}`, 24);
    assert.ok(seen.has(newName), `${app} through ${addrs[0]}: ${JSON.stringify([...seen])}`);
    assert.is(seen.size, 4);
  }
});

test('a second provision of the 4 reports 0 changes', () => {
  const res = provision(four());
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  assert.equal(changeList(res), []);
});

test('removed from the servers file, the 4th is removed from etcd', async () => {
  const res = provision(three());
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  const views = await Promise.all(
    labAddresses()
      .slice(0, 3)
      .map((a) => etcdView(a)),
  );
  assert.ok(
    views.every((v) => v.memberCount === 3),
    JSON.stringify(views),
  );
  assert.is(views.filter((v) => v.isLeader).length, 1);
});

// The lab is left as it is: the network suite, next, uses the 4th server as its stranger
// (`lab up 3` keeps a 4th; the engine suite takes the lab down after).

test.run();
