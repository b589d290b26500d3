/**
 * DATABASE=tidb, as plans only: TiDB's binaries cannot be downloaded here, so nothing below
 * deploys a cluster. The TiUP outputs under fixtures/tidb were written from TiUP's documented
 * formats (tabby tables), not captured from a real run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateEnv } from '../../src/config/env.ts';
import { PUBLIC_TIUP_MIRROR, tidbVersionProblem } from '../../src/config/tidb-settings.ts';
import {
  checkVerdict,
  displayVerdict,
  parseCheckOutput,
  parseDisplay,
} from '../../src/database/tidb-output.ts';
import {
  authoriseStep,
  ROOT_PASSWORD_FILE,
  startInitScript,
  storePasswordScript,
  TIDB_ROOT_PASSWORD_KEY,
  tidbGate,
  tidbPhases,
  TIUP_KEY,
} from '../../src/database/tidb-plan.ts';
import {
  renderTidbTopology,
  TIDB_PORTS,
  tidbInstanceCount,
  tidbLayout,
  tidbRolesOf,
} from '../../src/database/tidb-topology.ts';
import { ConfigError } from '../../src/errors.ts';
import type { Phase } from '../../src/plan/phase.ts';
import type { CommandStep, Step } from '../../src/plan/steps/index.ts';
import { checkHost } from '../../src/preflight/check.ts';
import type { HostFacts } from '../../src/preflight/probe.ts';
import { hostContext, type ServerSpec } from './fixtures/cluster.ts';

const fixture = (name: string) => readFileSync(`test/unit/fixtures/tidb/${name}`, 'utf8');

const SERVERS = [1, 2, 3, 4, 5].map((i) => ({ hostname: `s${i}`, private: `10.88.0.${i}` }));
const input = (n: number) => ({
  clusterName: 'shoestring',
  sshUser: 'root',
  sshPort: 22,
  servers: SERVERS.slice(0, n),
});

const SPECS: readonly ServerSpec[] = SERVERS.map((s, i) => ({
  ...s,
  address: `203.0.113.${10 + i}`,
}));
const TIDB_ENV = 'DATABASE=tidb\nTIDB_VERSION=v7.5.1';

function ctx(n = 3, env = TIDB_ENV) {
  return hostContext(SPECS.slice(0, n), env);
}

const PUBLIC_KEY = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAACAQC7tidbkey+/x== shoestring-tiup';

/** A phase's steps; a query phase planned with `answer`. */
function stepsOf(phase: Phase, answer = PUBLIC_KEY): readonly Step[] {
  return typeof phase.steps === 'function' ? phase.steps(answer) : phase.steps;
}

function commands(phases: readonly Phase[]): CommandStep[] {
  return phases.flatMap((p) => stepsOf(p)).filter((s): s is CommandStep => s.kind === 'command');
}

// --- topology -------------------------------------------------------------------------------

test('topology for 3 db servers (golden): PD, TiKV and TiDB on each, all on private addresses', () => {
  assert.fixture(renderTidbTopology(input(3)), fixture('topology-3.txt'));
});

test('topology for 5 db servers (golden): 3 PD, 3 TiKV, TiDB on all five, no monitoring', () => {
  const text = renderTidbTopology(input(5));
  assert.fixture(text, fixture('topology-5.txt'));
  assert.not.match(text, /monitoring_servers|grafana_servers/);
});

test('PD is moved off etcd’s 2379/2380; every instance listens on its private address', () => {
  const text = renderTidbTopology(input(3));
  assert.is(TIDB_PORTS.pdClient, 2479);
  assert.is(TIDB_PORTS.pdPeer, 2480);
  const settings = text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n');
  assert.not.match(settings, /\b2379\b|\b238[01]\b/);
  assert.match(settings, /client_port: 2479\n {4}peer_port: 2480/);
  const hosts = [...text.matchAll(/^ {4}- host: (\S+)$|^ {2}- host: (\S+)$/gm)].map(
    (m) => m[1] ?? m[2],
  );
  const listens = [...text.matchAll(/^ {4}listen_host: (\S+)$/gm)].map((m) => m[1]);
  assert.equal(listens, hosts);
  assert.match(text, /^ {2}deploy_dir: "\/tidb-deploy"$/m);
  assert.match(text, /^ {2}data_dir: "\/tidb-data"$/m);
  assert.match(text, /^ {2}user: "tidb"$/m);
});

test('a monitoring host only when asked: Prometheus and Grafana on the last db server', () => {
  const text = renderTidbTopology({ ...input(5), monitoring: true });
  assert.match(text, /monitoring_servers:\n {2}- host: 10\.88\.0\.5\n/);
  assert.match(text, /grafana_servers:\n {2}- host: 10\.88\.0\.5\n/);
  assert.is(tidbInstanceCount(tidbLayout({ ...input(5), monitoring: true })), 13);
  assert.is(tidbInstanceCount(tidbLayout(input(5))), 11);
});

test('fewer than 3 db servers are refused, naming TiDB’s HA minimum', () => {
  for (const n of [0, 1, 2]) {
    assert.throws(
      () => renderTidbTopology(input(n)),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.exitCode === 2 &&
        /at least 3 db servers, \d given/.test(e.message) &&
        /3 PD/.test(e.message) &&
        /3 TiKV/.test(e.message),
    );
  }
});

test('bad topology input is refused, every problem at once', () => {
  try {
    tidbLayout({
      clusterName: 'bad name',
      sshUser: 'root',
      sshPort: 0,
      servers: [
        { hostname: 's1', private: '10.88.0.1' },
        { hostname: 's2', private: '10.88.0.1' },
        { hostname: 's3', private: 'fe80::1' },
      ],
    });
    assert.unreachable('expected a ConfigError');
  } catch (e) {
    assert.instance(e, ConfigError);
    const text = (e as ConfigError).problems.join('\n');
    assert.match(text, /cluster name "bad name"/);
    assert.match(text, /SSH port 0/);
    assert.match(text, /10\.88\.0\.1 is used twice/);
    assert.match(text, /"fe80::1" is not IPv4/);
  }
});

test('roles by db-servers.txt position: PD, TiKV, TiDB on the first three, TiDB after', () => {
  assert.equal(tidbRolesOf(0), ['pd', 'tikv', 'tidb']);
  assert.equal(tidbRolesOf(2), ['pd', 'tikv', 'tidb']);
  assert.equal(tidbRolesOf(3), ['tidb']);
});

// --- the plan ---------------------------------------------------------------------------------

test('the plan on the first db server: phases and steps in order', () => {
  const c = ctx(3);
  const phases = tidbPhases(c, c.servers);
  assert.equal(
    phases.map((p) => p.title),
    [
      'Install TiUP',
      'Authorise TiUP on s1',
      'Authorise TiUP on s2',
      'Authorise TiUP on s3',
      'Check the servers for TiDB',
      'Deploy TiDB',
      'Start TiDB',
      'Keep the TiDB root password in etcd',
    ],
  );
  assert.equal(
    phases.map((p) => stepsOf(p).map((s) => s.title)),
    [
      [
        'Directory /etc/shoestring/tidb',
        'Directory /var/lib/shoestring/tidb',
        'Install TiUP from TIUP_MIRROR',
        "Make TiUP's SSH key",
      ],
      ['Packages numactl', "Authorise TiUP's key for root"],
      ['Packages numactl', "Authorise TiUP's key for root"],
      ['Packages numactl', "Authorise TiUP's key for root"],
      ['File /etc/shoestring/tidb/topology.yaml', 'Run tiup cluster check'],
      ['Deploy TiDB v7.5.1 (tiup cluster deploy)'],
      ['Start TiDB and capture its root password (tiup cluster start --init)'],
      ['Store the TiDB root password in etcd'],
    ],
  );
});

test('the plan: TIUP_MIRROR and TIDB_VERSION reach the scripts; other hosts get no phases', () => {
  const c = ctx(3, `${TIDB_ENV}\nTIUP_MIRROR=http://10.88.0.9:8080/`);
  const phases = tidbPhases(c, c.servers);
  const scripts = commands(phases)
    .map((s) => s.run)
    .join('\n');
  assert.match(scripts, /^mirror=http:\/\/10\.88\.0\.9:8080$/m);
  assert.match(scripts, /"\$mirror\/tiup-linux-amd64\.tar\.gz"/);
  assert.match(
    scripts,
    /cluster deploy shoestring v7\.5\.1 \/etc\/shoestring\/tidb\/topology\.yaml --user root -i \/etc\/shoestring\/tidb\/tiup_rsa --yes/,
  );
  assert.match(
    scripts,
    /cluster check \/etc\/shoestring\/tidb\/topology\.yaml --user root -i \/etc\/shoestring\/tidb\/tiup_rsa /,
  );
  const topology = stepsOf(phases[4] as Phase)[0];
  assert.ok(topology?.kind === 'file' && topology.content === renderTidbTopology(input(3)));
  const second = { ...c, self: c.servers[1]! };
  assert.equal(tidbPhases(second, c.servers), []);
});

test('the plan: the key is authorised on every db server, asked of the first, usable from it only', () => {
  const c = ctx(3);
  const phases = tidbPhases(c, c.servers).filter((p) => p.title.startsWith('Authorise'));
  assert.equal(
    phases.map((p) => [p.on?.name, p.query?.on.name]),
    [
      [undefined, 'root@203.0.113.10'],
      ['root@203.0.113.11', 'root@203.0.113.10'],
      ['root@203.0.113.12', 'root@203.0.113.10'],
    ],
  );
  assert.is(phases[0]?.query?.script, `cat ${TIUP_KEY}.pub 2>/dev/null || true`);
  const step = stepsOf(phases[1] as Phase, `${PUBLIC_KEY}\n`)[1] as CommandStep;
  const line = `from="10.88.0.1" ${PUBLIC_KEY}`;
  assert.ok(step.unless.includes(`grep -qxF -- '${line}' /root/.ssh/authorized_keys`));
  assert.ok(step.run.includes(`printf '%s\\n' '${line}'`));
  // A dry run before the key exists: a change that would fail if it were applied.
  const missing = authoriseStep('10.88.0.1', '') as CommandStep;
  assert.is(missing.unless, 'false');
  assert.match(missing.run, /missing or not a key/);
  assert.match((authoriseStep('10.88.0.1', 'ssh-rsa x; rm -rf /') as CommandStep).run, /exit 1/);
});

test('each command step has its idempotence check (none is unconditional)', () => {
  const c = ctx(5);
  for (const s of commands(tidbPhases(c, c.servers))) {
    assert.ok(s.unless.trim() !== '' && s.unless !== 'true', s.title);
  }
});

test('the root password is never printed: no set -x, its file only moved, piped to etcd, removed', () => {
  const c = ctx(3);
  const all = commands(tidbPhases(c, c.servers));
  const text = all.flatMap((s) => [s.unless, s.run]).join('\n');
  assert.not.match(text, /set -x|xtrace/);
  const pwLines = text.split('\n').filter((l) => l.includes('root-password'));
  assert.ok(pwLines.length > 0);
  for (const l of pwLines) {
    const allowed =
      /^\[ !? ?-e \/var\/lib\/shoestring\/tidb\/root-password \]$/.test(l) ||
      l.startsWith("sed -n -e 's/\\x1b") ||
      /^if \[ -s \S+root-password\.tmp \]; then mv \S+ \S+root-password; touch \S+; else rm -f \S+; fi$/.test(
        l,
      ) ||
      l.startsWith(`tr -d '\\n' <${ROOT_PASSWORD_FILE} | ETCDCTL_API=3 etcdctl `) ||
      l === `rm -f ${ROOT_PASSWORD_FILE}`;
    assert.ok(allowed, l);
  }
  // The etcd write takes the value on stdin, not in argv.
  const store = all.find((s) => s.title === 'Store the TiDB root password in etcd');
  assert.match(store?.run ?? '', new RegExp(`put ${TIDB_ROOT_PASSWORD_KEY} >/dev/null$`, 'm'));
  // start's output is only sed'ed into the password file, or filtered of password lines.
  const outLines = text.split('\n').filter((l) => l.includes('tidb-start.out'));
  for (const l of outLines)
    assert.ok(
      /--init >"\$SHOESTRING_TMP\/tidb-start.out" 2>&1/.test(l) ||
        /^sed -n .* >\S+root-password\.tmp$/.test(l) ||
        l.includes('| grep -iv password |') ||
        /^\s*rm -f "\$SHOESTRING_TMP\/tidb-start.out"$/.test(l),
      l,
    );
});

/** Runs a script as the apply would (bash, strict mode) in a scratch directory. */
function runScript(script: string, dir: string) {
  const res = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], {
    env: { ...process.env, SHOESTRING_TMP: dir },
    encoding: 'utf8',
  });
  return { code: res.status, output: `${res.stdout}${res.stderr}` };
}

function fakeTools(exitCode: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tidb-'));
  const password = 'y_+3Hwp=*AWz8971s6';
  const tiup = join(dir, 'tiup');
  // What TiUP prints after `start --init` (its password line coloured, as on a terminal).
  writeFileSync(
    tiup,
    [
      '#!/bin/sh',
      "cat <<'OUT'",
      'Starting cluster shoestring...',
      '+ [ Serial ] - UpdateTopology: cluster=shoestring',
      'Started cluster `shoestring` successfully',
      'The root password of TiDB database has been changed.',
      `\x1b[33mThe new password is: '${password}'.\x1b[0m`,
      'Copy and record it to somewhere safe, it is only displayed once, and will not be stored.',
      'The generated password can NOT be get and shown again.',
      'OUT',
      `exit ${exitCode}`,
    ].join('\n'),
  );
  chmodSync(tiup, 0o755);
  const etcdctl = join(dir, 'etcdctl');
  writeFileSync(
    etcdctl,
    `#!/bin/sh\ncat > ${join(dir, 'etcd-value')}\necho "$@" > ${join(dir, 'etcd-args')}\n`,
  );
  chmodSync(etcdctl, 0o755);
  return { dir, password, tiup, etcdctl, pw: join(dir, 'pw'), marker: join(dir, 'marker') };
}

test('start --init: the password goes to a 0600 file, then to etcd on stdin, printed nowhere', () => {
  const t = fakeTools(0);
  const start = runScript(
    startInitScript({ tiup: t.tiup, passwordFile: t.pw, marker: t.marker }),
    t.dir,
  );
  assert.is(start.code, 0, start.output);
  assert.is(start.output, '');
  assert.is(readFileSync(t.pw, 'utf8'), `${t.password}\n`);
  assert.is(statSync(t.pw).mode & 0o777, 0o600);
  assert.ok(existsSync(t.marker));
  assert.not.ok(existsSync(join(t.dir, 'tidb-start.out')), 'start output removed');
  const store = runScript(storePasswordScript({ passwordFile: t.pw, etcdctl: t.etcdctl }), t.dir);
  assert.is(store.code, 0, store.output);
  assert.is(store.output, '');
  assert.is(readFileSync(join(t.dir, 'etcd-value'), 'utf8'), t.password);
  assert.not.ok(readFileSync(join(t.dir, 'etcd-args'), 'utf8').includes(t.password));
  assert.not.ok(existsSync(t.pw), 'password file removed');
});

test('start --init failing: the password is still kept, and not in the error output', () => {
  const t = fakeTools(1);
  const res = runScript(
    startInitScript({ tiup: t.tiup, passwordFile: t.pw, marker: t.marker }),
    t.dir,
  );
  assert.is(res.code, 1);
  assert.match(res.output, /tiup cluster start --init exited 1/);
  assert.match(res.output, /Started cluster/);
  assert.not.ok(res.output.includes('y_+3Hwp'), res.output);
  assert.is(readFileSync(t.pw, 'utf8'), `${t.password}\n`);
  assert.ok(existsSync(t.marker), '--init ran: never again');
});

// --- tiup cluster check -------------------------------------------------------------------------

test('check output: Pass and Warn rows pass', () => {
  const out = parseCheckOutput(fixture('check-pass.txt'));
  assert.ok(out.table);
  assert.is(out.rows.length, 12);
  assert.equal(out.rows[0], {
    node: '10.88.0.1',
    check: 'os-version',
    result: 'Pass',
    message: 'OS is Debian GNU/Linux 12 (bookworm) 12',
    line: '10.88.0.1  os-version    Pass    OS is Debian GNU/Linux 12 (bookworm) 12',
  });
  assert.is(checkVerdict(fixture('check-pass.txt')), undefined);
});

test('check output: every Fail row is a failure, quoted', () => {
  const why = checkVerdict(fixture('check-fail.txt')) ?? '';
  assert.match(why, /^tiup cluster check failed 3 check\(s\): /);
  assert.ok(why.includes('"10.88.0.2  swap  Fail  swap is enabled, please disable it'), why);
  assert.ok(why.includes('"10.88.0.2  sysctl  Fail  vm.swappiness = 60, should be 0"'), why);
  assert.ok(why.includes("\"10.88.0.3  limits  Fail  soft limit of 'nofile'"), why);
  assert.not.match(why, /cpu-governor/);
});

test('check output: coloured results count; no table is a failure quoting the end', () => {
  const coloured = fixture('check-pass.txt').replace(
    '10.88.0.3  memory        Pass',
    '10.88.0.3  memory        \x1b[91mFail\x1b[0m',
  );
  const why = checkVerdict(coloured) ?? '';
  assert.ok(why.includes('failed 1 check(s): "10.88.0.3  memory  Fail  memory size is'), why);
  assert.match(
    checkVerdict('Error: failed to fetch cpu-arch or kernel-name: ssh: handshake failed') ?? '',
    /printed no result table \(Error: failed to fetch .* handshake failed\)/,
  );
  assert.match(checkVerdict('') ?? '', /no result table$/);
});

test('the pre-deploy check gate passes once the cluster is deployed', () => {
  const c = ctx(3);
  const gate = tidbPhases(c, c.servers).find((p) => p.confirm)?.confirm;
  assert.is(gate?.title, 'TiDB pre-deploy check');
  assert.is(gate?.verdict('deployed\n'), undefined);
  assert.match(gate?.verdict(fixture('check-fail.txt')) ?? '', /failed 3 check/);
  assert.match(gate?.hint ?? '', /--apply/);
});

// --- tiup cluster display -----------------------------------------------------------------------

const EXPECT = { instances: 9, version: 'v7.5.1' };

test('display output is parsed: name, version, every instance and its status', () => {
  const d = parseDisplay(fixture('display-up.txt'));
  assert.is(d.name, 'shoestring');
  assert.is(d.version, 'v7.5.1');
  assert.is(d.instances.length, 9);
  assert.equal(d.instances[0], {
    id: '10.88.0.1:2479',
    role: 'pd',
    host: '10.88.0.1',
    ports: '2479/2480',
    status: 'Up|L',
  });
  assert.equal(
    d.instances.map((i) => i.role),
    ['pd', 'pd', 'pd', 'tidb', 'tidb', 'tidb', 'tikv', 'tikv', 'tikv'],
  );
  assert.is(displayVerdict(fixture('display-up.txt'), EXPECT), undefined);
});

test('display verdict: an instance not Up, one missing, no PD leader, another version', () => {
  const up = fixture('display-up.txt');
  const down = up
    .replace(
      '10.88.0.2  20160/20180  linux/x86_64  Up    ',
      '10.88.0.2  20160/20180  linux/x86_64  Down  ',
    )
    .replace(
      '10.88.0.3:4000   tidb  10.88.0.3  4000/10080   linux/x86_64  Up      ',
      '10.88.0.3:4000   tidb  10.88.0.3  4000/10080   linux/x86_64  Pending Offline  ',
    );
  assert.is(
    displayVerdict(down, EXPECT),
    'not Up: 10.88.0.3:4000 (tidb) Pending Offline, 10.88.0.2:20160 (tikv) Down',
  );
  const missing = up.replace(/^10\.88\.0\.3:20160 .*\n/m, '');
  assert.is(displayVerdict(missing, EXPECT), '8 of 9 instances listed');
  assert.is(
    displayVerdict(up.replace('Up|L  ', 'Up    '), EXPECT),
    'no PD instance is the leader (none shows Up|L)',
  );
  assert.match(
    displayVerdict(up, { ...EXPECT, version: 'v8.1.0' }) ?? '',
    /runs v7\.5\.1 but TIDB_VERSION is v8\.1\.0/,
  );
  assert.match(
    displayVerdict('Error: Cluster shoestring not found\n', EXPECT) ?? '',
    /shows no instances \(Error: Cluster shoestring not found\)/,
  );
});

test('the TiDB gate runs tiup cluster display on the first db server', () => {
  const c = ctx(3);
  const gate = tidbGate(c, c.servers);
  assert.is(gate.on?.name, 'root@203.0.113.10');
  assert.match(gate.probe, /tiup cluster display shoestring 2>&1 \|\| true$/);
  assert.is(gate.verdict(fixture('display-up.txt')), undefined);
  const five = ctx(5);
  assert.is(
    tidbGate(five, five.servers).verdict(fixture('display-up.txt')),
    '9 of 11 instances listed',
  );
});

test('the plan refuses fewer than 3 db servers, other databases and mixed SSH ports', () => {
  const two = ctx(2);
  assert.throws(() => tidbPhases(two, two.servers), /at least 3 db servers, 2 given/);
  const galera = hostContext(SPECS.slice(0, 3), 'DATABASE=galera');
  assert.throws(() => tidbPhases(galera, galera.servers), /needs DATABASE=tidb/);
  const mixed = hostContext(
    SPECS.slice(0, 3).map((s, i) => (i === 2 ? { ...s, port: 2222 } : s)),
    TIDB_ENV,
  );
  assert.throws(() => tidbPhases(mixed, mixed.servers), /different ports \(22, 2222\)/);
});

// --- .env ------------------------------------------------------------------------------------

test('TIDB_VERSION: a release like v7.5.1', () => {
  for (const ok of ['v7.5.1', 'v8.5.0', 'v6.5.12'])
    assert.is(tidbVersionProblem(ok), undefined, ok);
  for (const bad of ['7.5.1', 'v7.5', 'v7.5.1-beta', 'latest', 'nightly', 'v7.5.1 ', "v7';rm"])
    assert.match(tidbVersionProblem(bad) ?? '', /is not a TiDB release like v7\.5\.1/, bad);
});

function envProblems(raw: Record<string, string>): string[] {
  try {
    validateEnv(raw, '.env');
  } catch (e) {
    assert.instance(e, ConfigError);
    return [...(e as ConfigError).problems];
  }
  return [];
}

test('.env: DATABASE=tidb needs TIDB_VERSION; TIUP_MIRROR defaults to PingCAP’s, else is checked', () => {
  const c = validateEnv(
    { DOMAIN: 'example.com', DATABASE: 'tidb', TIDB_VERSION: 'v7.5.1' },
    '.env',
  );
  assert.equal(c.tidb, { mirror: PUBLIC_TIUP_MIRROR, version: 'v7.5.1' });
  const own = validateEnv(
    {
      DOMAIN: 'example.com',
      DATABASE: 'tidb',
      TIDB_VERSION: 'v7.5.1',
      TIUP_MIRROR: 'https://m.example.com/tiup/',
    },
    '.env',
  );
  assert.is(own.tidb?.mirror, 'https://m.example.com/tiup');
  assert.match(
    envProblems({ DOMAIN: 'example.com', DATABASE: 'tidb' }).join('\n'),
    /TIDB_VERSION is missing/,
  );
  const bad = envProblems({
    DOMAIN: 'example.com',
    DATABASE: 'tidb',
    TIDB_VERSION: '7.5',
    TIUP_MIRROR: 'https://user:secret@m.example.com',
  }).join('\n');
  assert.match(bad, /TIDB_VERSION=7\.5 is not a TiDB release/);
  assert.match(bad, /TIUP_MIRROR=.* must not carry a user or password/);
  assert.match(
    envProblems({
      DOMAIN: 'example.com',
      DATABASE: 'tidb',
      TIDB_VERSION: 'v7.5.1',
      TIUP_MIRROR: 'ftp://m',
    }).join(),
    /TIUP_MIRROR=ftp:\/\/m is not an http\(s\) URL/,
  );
  // Only meaningful with DATABASE=tidb: ignored otherwise.
  const galera = validateEnv(
    { DOMAIN: 'example.com', DATABASE: 'galera', TIDB_VERSION: 'junk', TIUP_MIRROR: 'junk' },
    '.env',
  );
  assert.is(galera.tidb, undefined);
});

// --- preflight ---------------------------------------------------------------------------------

const facts = (memMiB: number, cpus: number, diskFreeMiB = 400_000): HostFacts => ({
  hostname: 's1',
  osId: 'debian',
  osVersion: '12',
  osPretty: 'Debian GNU/Linux 12 (bookworm)',
  addresses: ['203.0.113.10'],
  memMiB,
  cpus,
  diskFreeMiB,
  epoch: 0,
  container: 'none',
  systemd: true,
  listening: new Map(),
  provisioned: false,
});

const tidbCheck = (f: HostFacts, index?: number) =>
  checkHost({
    host: 's1',
    facts: f,
    localEpoch: 0,
    database: 'tidb',
    webServer: 'apache',
    ...(index === undefined ? {} : { tidbRoles: tidbRolesOf(index) }),
  });

test('preflight: below our floor TiDB is refused (4 GiB with PD and TiKV, 1 GiB for TiDB alone)', () => {
  assert.match(
    tidbCheck(facts(2048, 2)).problems.join('\n'),
    /2 GiB of memory is too little for TiDB's PD, TiKV, TiDB on one server: at least 4 GiB/,
  );
  assert.equal(tidbCheck(facts(3800, 4)).problems, []);
  assert.equal(tidbCheck(facts(2048, 2), 3).problems, []);
  assert.match(tidbCheck(facts(700, 1), 4).problems.join(), /at least 1 GiB/);
});

test('preflight: below the vendor minimums per role a warning says the numbers', () => {
  const core = tidbCheck(facts(8192, 4)).warnings.join('\n');
  assert.match(core, /runs PD, TiKV, TiDB with 4 cores and 8 GiB/);
  assert.match(core, /TiKV's vendor minimum is 8 cores and 32 GiB/);
  assert.match(core, /TiDB's vendor minimum is 8 cores and 16 GiB/);
  assert.not.match(core, /PD's vendor minimum/);
  const sqlOnly = tidbCheck(facts(16384, 8), 3).warnings;
  assert.equal(sqlOnly, []);
  const big = tidbCheck(facts(32768, 8)).warnings;
  assert.equal(big, []);
  assert.match(
    tidbCheck(facts(32768, 8, 20_000)).warnings.join(),
    /20 GB free on \/; TiDB's docs ask for 270 GB for PD, TiKV, TiDB/,
  );
});

test('preflight: a TiDB port held by another program is refused', () => {
  const f = {
    ...facts(32768, 8),
    listening: new Map([
      [2479, 'nginx'],
      [4000, 'tidb-server'],
    ]),
  };
  const v = tidbCheck(f);
  assert.match(v.problems.join(), /port 2479 \(PD client\) is held by nginx/);
  assert.not.match(v.problems.join(), /port 4000/);
});

test.run();
