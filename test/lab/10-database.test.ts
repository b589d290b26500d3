/**
 * The replicated database against real servers (MariaDB Galera from Debian, 3 lab servers):
 * one provision makes a 3-member cluster Synced, replication ports answer only on the private
 * network, a second provision changes nothing; app2's rows written through any front are read
 * through every other; a backup taken, a table dropped, the restore brings it back. Failures
 * under load (a member cut off, every server stopped) are the chaos suite's (12-chaos).
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guardAddress } from '../../src/watch/guard.ts';
import { labAsync, on } from './helpers.ts';
import { labUp, runCommand, totals } from './provision-helpers.ts';
import {
  DOMAIN,
  envFile,
  labAddresses,
  labCa,
  privateOf,
  provision,
  sleep,
} from './stack-checks.ts';
import { httpsCall } from './write-loop.ts';

let addrs: string[] = [];
let env = '';
const app2 = () => `app2.${DOMAIN()}`;
const WSREP = `mariadb -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status','wsrep_local_state_comment','wsrep_cluster_size')"`;

async function member(address: string): Promise<string> {
  const r = await on(address, WSREP);
  const v = new Map(r.out.split('\n').map((l) => l.split('\t') as [string, string]));
  return `${v.get('wsrep_cluster_status') ?? '?'} ${v.get('wsrep_local_state_comment') ?? '?'} ${v.get('wsrep_cluster_size') ?? '?'}`;
}

async function allSynced(seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  let states: string[] = [];
  while (Date.now() < end) {
    states = await Promise.all(addrs.map(member));
    if (states.every((s) => s === 'Primary Synced 3')) return;
    await sleep(1000);
  }
  throw new Error(`not 3 Synced members after ${seconds} s: ${states.join(' | ')}`);
}

/** One HTTPS request to app2 through one server's front (checked against the lab's CA). */
const call = async (address: string, method: string, path: string) =>
  httpsCall(address, app2(), await labCa(), method, path);

const write = (address: string, token: string) => call(address, 'POST', `/rows?token=${token}`);

async function tokens(address: string): Promise<Set<string>> {
  const r = await call(address, 'GET', '/rows/tokens');
  assert.is(r.code, 200, `tokens through ${address}: ${r.code} ${r.body}`);
  return new Set(r.body.split('\n').filter(Boolean));
}

async function count(address: string): Promise<number> {
  const r = await call(address, 'GET', '/rows/count');
  assert.is(r.code, 200, `count through ${address}: ${r.code} ${r.body}`);
  return (JSON.parse(r.body) as { count: number }).count;
}

/** Whether a TCP connection to address:port opens within 1.5 s. */
async function opens(address: string, port: number): Promise<boolean> {
  await guardAddress(address);
  return new Promise((resolve) => {
    const s = connect({ host: address, port, timeout: 1500 });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('timeout', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(false));
  });
}

test.before(() => {
  labUp(3);
  addrs = labAddresses();
  env = envFile({ DATABASE: 'galera' });
  const first = provision(['--env', env, '--servers', '.lab/servers.txt']);
  if (first.status !== 0) throw new Error(`provision failed:\n${first.stdout}\n${first.stderr}`);
});

test('one provision: 3 members Synced; replication only on the private network; the app password kept secret; a second provision changes nothing', async () => {
  await allSynced(60);
  const [s1 = '', s2 = ''] = addrs;
  const p2 = await privateOf(s2);
  for (const port of [3306, 4567, 4568, 4444, 9200]) {
    assert.not.ok(await opens(s2, port), `port ${port} answers on s2's public address`);
    const inside = await on(
      s1,
      `timeout 2 bash -c '</dev/tcp/${p2}/${port}' && echo open || echo closed`,
    );
    if (port === 3306 || port === 4567 || port === 9200)
      assert.is(inside.out, 'open', `s1 reaches s2's ${port} on the private network`);
  }
  const file = '/etc/shoestring/apps/app2-database.ini';
  const mode = await on(s1, `stat -c %a:%U:%G ${file}`);
  assert.is(mode.out, '640:root:www-data');
  assert.is.not((await on(s1, `runuser -u nobody -- cat ${file}`)).code, 0, 'nobody can read it');
  const pw = (await on(s1, `sed -n 's/^env = DATABASE_PASSWORD=//p' ${file}`)).out;
  assert.ok(/^[0-9a-f]{48}$/.test(pw), 'a generated password');
  const again = provision(['--env', env, '--servers', '.lab/servers.txt']);
  assert.is(again.status, 0, again.stdout + again.stderr);
  assert.is(totals(again.stdout).changed, 0, 'the second provision changed something');
  assert.not.ok((again.stdout + again.stderr).includes(pw), 'the password leaked into the output');
});

test("the member's check: 200 while Synced; desynced by hand, 503, and the server's proxy sends app2 to another member", async () => {
  const [s1 = ''] = addrs;
  const check = `curl -s -m 3 http://${await privateOf(s1)}:9200/`;
  assert.is((await on(s1, check)).out, 'Synced');
  await on(s1, `mariadb -e 'SET GLOBAL wsrep_desync=ON'`);
  try {
    assert.is(
      (await on(s1, `mariadb -N -B -e "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'"`)).out,
      'wsrep_local_state_comment\tDonor/Desynced',
    );
    assert.is((await on(s1, check)).out, 'Not synced');
    // Marked down after two failed checks (1 s, then 250 ms apart); app2 still counts its rows.
    await sleep(2000);
    const down = await on(
      s1,
      `journalctl -u haproxy --since -10s --no-pager | grep -c "database/$(hostname) is DOWN"`,
    );
    assert.ok(Number(down.out) >= 1, `s1's proxy marked its own member down: ${down.out}`);
    await count(s1);
  } finally {
    await on(s1, `mariadb -e 'SET GLOBAL wsrep_desync=OFF'`);
  }
  const end = Date.now() + 10_000;
  while ((await on(s1, check)).out !== 'Synced' && Date.now() < end) await sleep(250);
  assert.is((await on(s1, check)).out, 'Synced');
});

test("while a member is cut off silently, the others' checks answer 200 at once the whole time", async () => {
  const [s1 = ''] = addrs;
  const check = `curl -s -m 3 -o /dev/null -w '%{http_code} %{time_total}\\n' http://${await privateOf(s1)}:9200/`;
  // 10 s of checks every 0.2 s, on s1 itself (the cut starts 1 s in): the suspect timeout
  // (writes and causal reads stall) falls inside it.
  const loop = on(s1, `for i in $(seq 50); do ${check}; sleep 0.2; done`);
  await sleep(1000);
  await labAsync('partition', 's3');
  try {
    const answers = (await loop).out.split('\n');
    assert.is(answers.length, 50);
    const bad = answers.filter((a) => !a.startsWith('200 ') || Number(a.split(' ')[1]) > 1);
    assert.equal(bad, [], 'every check 200 within 1 s');
  } finally {
    await labAsync('heal', 's3');
  }
  await allSynced(120);
});

test("app2's rows written through any server's front are read through every other", async () => {
  for (const [i, a] of addrs.entries()) {
    const token = `front-${i}-${Date.now()}`;
    const w = await write(a, token);
    assert.is(w.code, 200, `write through ${a}: ${w.code} ${w.body}`);
    for (const b of addrs) assert.ok((await tokens(b)).has(token), `${token} read through ${b}`);
  }
});

test('a backup taken, a table dropped: the restore brings every row back', async () => {
  const [s1 = '', s2 = ''] = addrs;
  const before = await count(s1);
  const now = runCommand('scripts/backup.ts', [
    'now',
    '--env',
    env,
    '--servers',
    '.lab/servers.txt',
  ]);
  assert.is(now.status, 0, now.stdout + now.stderr);
  assert.match(now.stdout, /^backup: db-\d{8}T\d{6}Z-s\d\.sql\.gz on /m);
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-backups-'));
  const pull = runCommand('scripts/backup.ts', [
    'pull',
    '--to',
    dir,
    '--env',
    env,
    '--servers',
    '.lab/servers.txt',
  ]);
  assert.is(pull.status, 0, pull.stdout + pull.stderr);
  const [file = ''] = readdirSync(dir);
  assert.match(file, /^db-.*\.sql\.gz$/);
  await on(s2, 'mariadb -e "DROP TABLE app2.rows_written"');
  assert.is(
    (await on(s1, 'mariadb -N -e "SHOW TABLES FROM app2"')).out,
    '',
    'the table is gone everywhere',
  );
  const dry = runCommand('scripts/backup.ts', [
    'restore',
    join(dir, file),
    '--env',
    env,
    '--servers',
    '.lab/servers.txt',
  ]);
  assert.is(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /^would restore .*nothing changed; add --yes/m);
  assert.is(
    (await on(s1, 'mariadb -N -e "SHOW TABLES FROM app2"')).out,
    '',
    'without --yes nothing changed',
  );
  const restore = runCommand('scripts/backup.ts', [
    'restore',
    join(dir, file),
    '--yes',
    '--env',
    env,
    '--servers',
    '.lab/servers.txt',
  ]);
  assert.is(restore.status, 0, restore.stdout + restore.stderr);
  for (const a of addrs) assert.is(await count(a), before, `every row back, read through ${a}`);
});

test.run();
