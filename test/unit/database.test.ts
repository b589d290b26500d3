// The database's pure parts: db-servers.txt, the layout (odd members, the arbitrator), what a
// member reports, the cluster plan (new, running, recover, refuse), the proxy's and the
// member's configuration, the gate, and that no password is ever in a script's text.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { database } from '../../src/components/database.ts';
import { appDatabasesPhase, appSettingsSteps } from '../../src/components/database-apps.ts';
import { galeraConfig, galeraGate, settledStart } from '../../src/components/database-galera.ts';
import { haproxyConfig } from '../../src/components/database-proxy.ts';
import type { App } from '../../src/apps/discover.ts';
import { parseDbServers } from '../../src/config/db-servers.ts';
import { parseServers } from '../../src/config/servers.ts';
import { ConfigError } from '../../src/errors.ts';
import { planGalera, type MemberReport } from '../../src/database/galera-plan.ts';
import {
  NO_UUID,
  parseGaleraState,
  parseGrastate,
  parseRecoveredPosition,
  parseWsrepStatus,
  type GaleraState,
} from '../../src/database/galera-state.ts';
import { databaseLayout } from '../../src/database/layout.ts';
import { sectionLine } from '../../src/plan/sections.ts';
import { hostContext, THREE } from './fixtures/cluster.ts';

const servers = parseServers('10.0.0.1\n10.0.0.2\nroot@10.0.0.3:2222\n10.0.0.4\n', 'servers.txt');

function throwsConfig(f: () => unknown, match: RegExp): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, ConfigError);
    const err = e as ConfigError;
    assert.match(`${err.message}\n${err.hint ?? ''}`, match);
    return;
  }
  assert.unreachable('no ConfigError');
}

test('db-servers.txt: names servers of servers.txt (host or host:port), in servers.txt order', () => {
  const picked = parseDbServers(
    '# members\n10.0.0.3\n10.0.0.1\n\n10.0.0.2 # third\n',
    'db-servers.txt',
    servers,
  );
  assert.equal(
    picked.map((s) => s.host),
    ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
  );
  assert.is(parseDbServers('10.0.0.3:2222\n', 'f', servers)[0]?.port, 2222);
});

test('db-servers.txt: an unknown server, a duplicate, garbage and an empty file are refused by line', () => {
  throwsConfig(
    () => parseDbServers('10.0.0.9\n', 'db-servers.txt', servers),
    /db-servers.txt:1: "10.0.0.9" is not in servers.txt/,
  );
  throwsConfig(
    () => parseDbServers('10.0.0.1\n10.0.0.1\n', 'db-servers.txt', servers),
    /db-servers.txt:2: "10.0.0.1" duplicates line 1/,
  );
  throwsConfig(
    () => parseDbServers('10.0.0.1 10.0.0.2\n', 'db-servers.txt', servers),
    /db-servers.txt:1: .*one server a line/,
  );
  throwsConfig(
    () => parseDbServers('# nothing\n', 'db-servers.txt', servers),
    /db-servers.txt names no server/,
  );
});

test('layout: an odd number of at least 3, or 2 plus the arbitrator on another server', () => {
  const name = (s: { host: string }) => s.host;
  const three = databaseLayout('galera', servers, servers.slice(0, 3), name, 'db-servers.txt');
  assert.equal([three.members.length, three.arbitrator, three.expectedSize], [3, undefined, 3]);
  const two = databaseLayout('galera', servers, servers.slice(0, 2), name, 'db-servers.txt');
  assert.is(two.arbitrator?.host, '10.0.0.3');
  assert.is(two.expectedSize, 3, 'garbd counts in the group');
  throwsConfig(
    () =>
      databaseLayout('galera', servers.slice(0, 2), servers.slice(0, 2), name, 'db-servers.txt'),
    /needs a third server for the Galera arbitrator/,
  );
  throwsConfig(
    () => databaseLayout('galera', servers, servers, name, 'db-servers.txt'),
    /odd number .* gives 4: 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4/,
  );
  throwsConfig(
    () => databaseLayout('galera', servers, servers.slice(0, 1), name, 'db-servers.txt'),
    /at least 3/,
  );
  // No db-servers.txt: every server is a member, and the message says so.
  throwsConfig(
    () => databaseLayout('galera', servers, servers, name, 'servers.txt', true),
    /servers\.txt lists 4 and every server is one \(there is no db-servers\.txt beside it\)/,
  );
  assert.equal(databaseLayout('none', servers, servers, name, 'f').members, []);
});

test('member reports: grastate.dat, SHOW STATUS, --wsrep-recover', () => {
  assert.equal(
    parseGrastate(
      '# GALERA saved state\nversion: 2.1\nuuid:    d778-aa\nseqno:   -1\nsafe_to_bootstrap: 0\n',
    ),
    {
      uuid: 'd778-aa',
      seqno: -1,
      safeToBootstrap: false,
    },
  );
  assert.is(parseGrastate(''), undefined);
  assert.equal(
    parseWsrepStatus(
      'wsrep_cluster_status\tPrimary\nwsrep_local_state_comment\tSynced\nwsrep_cluster_size\t3\nwsrep_cluster_state_uuid\tu-1\nwsrep_last_committed\t42\nwsrep_ready\tON',
    ),
    {
      clusterStatus: 'Primary',
      state: 'Synced',
      size: 3,
      uuid: 'u-1',
      lastCommitted: 42,
      ready: true,
    },
  );
  const uuid = 'd77881e8-ee27-11f1-9237-a265a30033e9';
  assert.equal(
    parseRecoveredPosition(
      `2026-12-02 [Note] InnoDB: x\n2026-12-02 0 [Note] WSREP: Recovered position: ${uuid}:1234\n`,
    ),
    { uuid, seqno: 1234 },
  );
  assert.is(parseRecoveredPosition('nothing here'), undefined);
  const out = [
    sectionLine('galera_installed'),
    'yes',
    sectionLine('galera_configured'),
    'no',
    sectionLine('galera_active'),
    'failed',
    sectionLine('galera_grastate'),
    `uuid: ${uuid}`,
    'seqno: 7',
    'safe_to_bootstrap: 1',
    sectionLine('galera_status'),
  ].join('\n');
  const s = parseGaleraState(out);
  assert.equal(
    [s.installed, s.configured, s.active, s.grastate?.seqno, s.status],
    [true, false, 'failed', 7, undefined],
  );
});

const U = 'd77881e8-ee27-11f1-9237-a265a30033e9';
function state(p: Partial<GaleraState>): GaleraState {
  return {
    installed: true,
    configured: true,
    active: 'inactive',
    grastate: undefined,
    status: undefined,
    ...p,
  };
}
const stopped = (seqno: number, safe = false, uuid = U) =>
  state({ grastate: { uuid, seqno, safeToBootstrap: safe } });
const report = (
  name: string,
  s: GaleraState,
  recovered?: { uuid: string; seqno: number },
): MemberReport => ({ name, state: s, recovered });
const primary = state({
  active: 'active',
  status: {
    clusterStatus: 'Primary',
    state: 'Synced',
    size: 2,
    uuid: U,
    lastCommitted: 9,
    ready: true,
  },
});

test('plan: no member holds data anywhere → a new cluster from the first member', () => {
  const fresh = state({
    configured: false,
    grastate: { uuid: NO_UUID, seqno: -1, safeToBootstrap: false },
  });
  assert.equal(
    planGalera(
      [report('s1', state({ installed: false, configured: false })), report('s2', fresh)],
      { recover: false, askedPositions: false },
    ),
    { kind: 'new', bootstrap: 's1' },
  );
});

test('plan: a member in a primary component → the others join it (never a new cluster)', () => {
  const p = planGalera(
    [report('s1', stopped(5)), report('s2', primary), report('s3', state({ installed: false }))],
    { recover: false, askedPositions: false },
  );
  assert.equal(p, { kind: 'running', primary: ['s2'] });
});

test('plan: every member stopped with known positions → bootstrap from the most advanced, automatically', () => {
  const p = planGalera(
    [report('s1', stopped(10)), report('s2', stopped(12)), report('s3', stopped(11))],
    { recover: false, askedPositions: false },
  );
  assert.is(p.kind, 'recover');
  if (p.kind !== 'recover') return;
  assert.equal([p.from, p.seqno, p.stop], ['s2', 12, []]);
  assert.match(p.why, /s2 is the most advanced \(s1 seqno 10, s2 seqno 12, s3 seqno 11\)/);
  const level = planGalera([report('s1', stopped(12)), report('s2', stopped(12, true))], {
    recover: false,
    askedPositions: false,
  });
  assert.is(
    level.kind === 'recover' && level.from,
    's2',
    'a level member that left last (safe_to_bootstrap) wins',
  );
});

test('plan: a crashed member (seqno -1) is asked --wsrep-recover first; members still waiting are stopped', () => {
  const waiting = state({
    active: 'activating',
    grastate: { uuid: U, seqno: -1, safeToBootstrap: false },
  });
  const members = [report('s1', stopped(-1)), report('s2', stopped(8)), report('s3', waiting)];
  assert.equal(planGalera(members, { recover: false, askedPositions: false }), {
    kind: 'positions',
    ask: ['s1', 's3'],
  });
  const asked = [
    report('s1', stopped(-1), { uuid: U, seqno: 9 }),
    members[1] as MemberReport,
    report('s3', waiting, { uuid: U, seqno: 3 }),
  ];
  const p = planGalera(asked, { recover: false, askedPositions: true });
  assert.equal(p.kind === 'recover' ? [p.from, p.seqno, p.stop] : p, ['s1', 9, ['s3']]);
});

test('plan: an unknown position or two clusters → refused with the reason; --recover picks the most advanced known', () => {
  const unknown = [report('s1', stopped(-1)), report('s2', stopped(8))];
  const refused = planGalera(unknown, { recover: false, askedPositions: true });
  assert.is(refused.kind, 'refuse');
  if (refused.kind === 'refuse') {
    assert.match(refused.reason, /the last position of s1 could not be read/);
    assert.match(refused.hint, /--recover bootstraps from s2 \(seqno 8\)/);
  }
  const forced = planGalera(unknown, { recover: true, askedPositions: true });
  assert.is(forced.kind === 'recover' && forced.from, 's2');
  const split = planGalera(
    [report('s1', stopped(3)), report('s2', stopped(4, false, 'other-uuid'))],
    { recover: false, askedPositions: false },
  );
  assert.ok(split.kind === 'refuse' && /data of 2 different clusters/.test(split.reason));
});

const ctx = hostContext(THREE, 'DATABASE=galera');

test('member configuration: the private addresses only, the member list never empty', () => {
  const cnf = galeraConfig(ctx);
  assert.match(cnf, /^wsrep_cluster_address = gcomm:\/\/10\.88\.0\.1,10\.88\.0\.2,10\.88\.0\.3$/m);
  assert.match(cnf, /^bind-address = 10\.88\.0\.1$/m);
  assert.match(
    cnf,
    /gmcast\.listen_addr=tcp:\/\/10\.88\.0\.1:4567;ist\.recv_addr=10\.88\.0\.1:4568/,
  );
  assert.match(cnf, /^wsrep_sst_receive_address = 10\.88\.0\.1:4444$/m);
  assert.not.match(cnf, /gcomm:\/\/\s*$/m);
});

test("proxy: this server's member first, the others as backups; TiDB on its SQL and status ports", () => {
  const cfg = haproxyConfig(ctx);
  assert.match(cfg, /bind 127\.0\.0\.1:3306/);
  assert.match(
    cfg,
    /server s1 10\.88\.0\.1:3306\n\tserver s2 10\.88\.0\.2:3306 backup\n\tserver s3 10\.88\.0\.3:3306 backup/,
  );
  assert.match(
    cfg,
    /check port 9200 inter 1000 fastinter 250 downinter 250 fall 2 rise 2 on-marked-down shutdown-sessions/,
  );
  const second = haproxyConfig({ ...ctx, self: ctx.servers[1]! });
  assert.match(second, /server s2 10\.88\.0\.2:3306\n\tserver s1 10\.88\.0\.1:3306 backup/);
  const tidb = hostContext(THREE, 'DATABASE=tidb\nTIDB_VERSION=v7.5.1');
  assert.match(haproxyConfig(tidb), /check port 10080 .*\n[\s\S]*server s1 10\.88\.0\.1:4000/);
});

test('gate: Synced in a primary component with enough members, else it says what is missing', () => {
  const gate = galeraGate(ctx, 3);
  const out = (status: string, state: string, size: number) =>
    `wsrep_cluster_status\t${status}\nwsrep_local_state_comment\t${state}\nwsrep_cluster_size\t${size}`;
  assert.is(gate.verdict(out('Primary', 'Synced', 3)), undefined);
  assert.is(
    gate.verdict(out('Primary', 'Synced', 2)),
    'the database cluster has 2 members, expected 3',
  );
  assert.is(
    gate.verdict(out('non-Primary', 'Initialized', 1)),
    'the database member is non-Primary, not in a primary component',
  );
  assert.is(
    gate.verdict(out('Primary', 'Donor/Desynced', 3)),
    'the database member is Donor/Desynced, not Synced',
  );
  assert.is(gate.verdict(''), 'the database member does not answer');
});

test("app databases: the password is read from etcd on the server, never in a script's text", () => {
  const app = { name: 'my-app', database: true } as unknown as App;
  const phase = appDatabasesPhase([app, { name: 'app1', database: false } as unknown as App]);
  const steps = phase && Array.isArray(phase.steps) ? phase.steps : [];
  assert.is(steps.length, 1);
  const step = steps[0];
  assert.ok(step?.kind === 'command');
  if (step?.kind !== 'command') return;
  assert.match(step.run, /get --print-value-only \/shoestring\/database\/users\/my-app\)/);
  assert.match(step.run, /CREATE USER IF NOT EXISTS 'my_app'@'%' IDENTIFIED BY '\$pw';/);
  assert.match(
    step.run,
    /CREATE DATABASE IF NOT EXISTS \\`my_app\\`/,
    'backquotes escaped in the here-document',
  );
  assert.match(step.run, /mariadb -N -B <<SHOESTRING_SQL/, 'SQL on stdin, not in argv');
  assert.match(step.run, /put \/shoestring\/database\/users\/my-app "\$\(openssl rand -hex 24\)"/);
  const settings = appSettingsSteps([app]).find((s) => s.kind === 'command');
  assert.ok(
    settings?.kind === 'command' && /chown root:www-data "\$tmp"; chmod 0640/.test(settings.run),
  );
  assert.is(appDatabasesPhase([{ name: 'app1', database: false } as unknown as App]), undefined);
});

test('two members: the third server runs the arbitrator (members space-separated), no member phases', () => {
  const base = hostContext(THREE, 'DATABASE=galera');
  const members = base.servers.slice(0, 2);
  const third = base.servers[2]!;
  const layout = databaseLayout(
    'galera',
    base.servers,
    members,
    (s) => s.hostname,
    'db-servers.txt',
  );
  const ctx3 = { ...base, database: layout, self: third };
  const state = {
    plan: { kind: 'running' as const, primary: ['s1'] },
    runningBefore: new Set(['s1', 's2']),
  };
  const titles = database.phases(ctx3, state).map((p) => p.title);
  assert.equal(titles, [
    'Leave the database cluster',
    'Galera arbitrator',
    'Local database proxy',
    "The apps' database settings",
  ]);
  const garb = database.phases(ctx3, state).find((p) => p.title === 'Galera arbitrator');
  const file = Array.isArray(garb?.steps) ? garb.steps.find((s) => s.kind === 'file') : undefined;
  assert.ok(
    file?.kind === 'file' && file.content.includes('GALERA_NODES="10.88.0.1:4567 10.88.0.2:4567"'),
  );
  const ctx1 = { ...base, database: layout, self: base.servers[0]! };
  assert.equal(
    database
      .phases(ctx1, state)
      .map((p) => p.title)
      .slice(0, 4),
    [
      'Install MariaDB and Galera',
      'Configure the database member',
      'Start the database member',
      'Database backups',
    ],
  );
});

test('settledStart waits out an activating unit, then retries a start systemd refused once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'settled-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const stub = (name: string, body: string): void =>
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  // is-active says activating twice, then failed; the first start fails, the second works.
  stub(
    'systemctl',
    `echo "$*" >> ${dir}/calls
case "$1" in
  is-active) n=$(cat ${dir}/n 2>/dev/null || echo 0); echo $((n+1)) > ${dir}/n; [ "$n" -lt 2 ] && echo activating || echo failed;;
  start) if [ -e ${dir}/started-once ]; then exit 0; else touch ${dir}/started-once; exit 1; fi;;
esac`,
  );
  stub('sleep', 'exit 0');
  const run = spawnSync('bash', ['-c', settledStart('systemctl start mariadb')], {
    env: { PATH: `${bin}:/usr/bin:/bin` },
    encoding: 'utf8',
  });
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stderr, /systemctl start mariadb failed; trying once more in 3 s/);
  assert.equal(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n'), [
    'is-active mariadb',
    'is-active mariadb',
    'is-active mariadb',
    'reset-failed mariadb',
    'start mariadb',
    'reset-failed mariadb',
    'start mariadb',
  ]);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
