/**
 * scripts/destroy.ts against real servers: without --yes it changes nothing; with --yes the
 * server leaves etcd, its services stop, the other two keep serving, and a provision of the
 * remaining two converges.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { test } from 'uvu';
import { labDnsProvider } from '../../src/lab/dns.ts';
import * as assert from 'uvu/assert';
import { on } from './helpers.ts';
import { labUp, runCommand, totals } from './provision-helpers.ts';
import { DOMAIN, etcdView, get, labAddresses, serversFile } from './stack-checks.ts';

let s1 = '';
let s3 = '';

test.before(() => {
  labUp(3);
  [s1 = '', , s3 = ''] = labAddresses();
  const first = runCommand('provision.ts', ['--lab']);
  if (first.status !== 0) throw new Error(`provision failed:\n${first.stdout}\n${first.stderr}`);
});

test('without --yes (or with --dry-run), destroy shows what it would change, with diffs, and changes nothing', async () => {
  const before = (
    await on(
      s3,
      'find /etc/shoestring /srv/shoestring /etc/default/etcd -printf "%p %s %T@\\n" | sort | sha256sum',
    )
  ).out;
  for (const args of [
    ['--lab', s3],
    ['--lab', s3, '--yes', '--dry-run'],
  ]) {
    const dry = runCommand('scripts/destroy.ts', args);
    assert.is(dry.status, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /Leave the etcd cluster › run: Remove this member from the etcd cluster/,
    );
    assert.match(dry.stdout, /Remove the apps › remove \/srv\/shoestring\/apps \(directory\)/);
    // The etcd settings file is emptied: its diff shows the lines that go.
    assert.match(dry.stdout, /^172\.30\.0\.13: +-ETCD_NAME=s3$/m);
    assert.match(dry.stdout, /Nothing was changed\. Run again with --yes to do it\./);
  }
  assert.is((await etcdView(s1)).memberCount, 3);
  assert.is(
    (await on(s3, 'systemctl is-active etcd uwsgi-emperor apache2')).out
      .trim()
      .split('\n')
      .join(' '),
    'active active active',
  );
  const after = (
    await on(
      s3,
      'find /etc/shoestring /srv/shoestring /etc/default/etcd -printf "%p %s %T@\\n" | sort | sha256sum',
    )
  ).out;
  assert.is(after, before, 'nothing on s3 changed');
});

test('an unknown server is refused, naming the servers file', () => {
  const bad = runCommand('scripts/destroy.ts', ['--lab', '192.0.2.77', '--yes']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /not in \.lab\/servers\.txt: 192\.0\.2\.77/);
});

test('destroy --yes: the server leaves etcd, stops its services; the rest keep serving', async () => {
  const res = runCommand('scripts/destroy.ts', ['--lab', s3, '--yes']);
  assert.is(res.status, 0, res.stdout + res.stderr);
  const view = await etcdView(s1);
  assert.is(view.memberCount, 2);
  const states = (await on(s3, 'systemctl is-active etcd uwsgi-emperor apache2 || true')).out
    .trim()
    .split('\n');
  assert.equal(states, ['inactive', 'inactive', 'inactive']);
  assert.is(
    (await on(s3, 'ls /etc/uwsgi-emperor/vassals/ | grep -c app- || true')).out.trim(),
    '0',
  );
  for (const app of ['app1', 'app2']) {
    const r = await get(s1, `${app}.${DOMAIN()}`);
    assert.is(r.code, 200, `${app} through s1 after destroying s3`);
  }
  // Its records left DNS (before it was torn down), the others' stayed; its agent is gone.
  const env = parse(readFileSync('.lab/.env'));
  const dns = labDnsProvider(env['LAB_DNS'] ?? '', DOMAIN(), env['PDNS_API_KEY'] ?? '');
  const left = await dns.listA(`*.${DOMAIN()}`);
  assert.not.ok(left.includes(s3), left.join(' '));
  assert.ok(left.includes(s1), left.join(' '));
  assert.equal(await dns.listA(DOMAIN()), left);
  assert.match(res.stdout, /changed \*\.\S+: -\S+ \(drain/);
  assert.is((await on(s3, 'systemctl is-active shoestring-agent || true')).out.trim(), 'inactive');
});

test('a provision of the remaining servers converges and then reports 0 changes', () => {
  const two = serversFile(2);
  const run = runCommand('provision.ts', ['--servers', two, '--env', '.lab/.env', '--json']);
  assert.is(run.status, 0, run.stdout + run.stderr);
  const again = runCommand('provision.ts', ['--servers', two, '--env', '.lab/.env', '--json']);
  assert.is(totals(again.stdout).changed, 0);
  assert.is(totals(again.stdout).hosts, 2);
});

test.after(() => {
  // s3 is half gone: leave no such lab for later suites.
  runCommand('scripts/lab.ts', ['down']);
});

test.run();
