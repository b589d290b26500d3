import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { assignAddresses, hostRange, privateAddresses } from '../../src/network/addresses.ts';
import { configuredPeers, parseNetworkSurvey, NETWORK_SURVEY } from '../../src/network/survey.ts';
import { renderWgConf, renderWgSync, sameConf } from '../../src/network/wireguard.ts';
import { networkCell } from '../../src/status/network.ts';
import { cidrProblem } from '../../src/config/network-settings.ts';
import { ConfigError } from '../../src/errors.ts';
import { network } from '../../src/components/network.ts';
import type { ClusterIO } from '../../src/components/types.ts';
import { staticSteps } from '../../src/plan/phase.ts';
import { WG_CONF } from '../../src/network/survey.ts';
import { hostContext } from './fixtures/cluster.ts';
import { render } from '../../src/templates.ts';

const KEY_A = 'eVhhD11KrYWz2O28UJG81X7owaBeGyX7y25P7XZGIXQ=';
const KEY_B = '1HzmHrJtLiyBnxlfiyz8nkKixIAFwzkwt0CLZnElfEY=';

test('new servers get the lowest free addresses; existing ones keep theirs', () => {
  const got = assignAddresses(
    [
      { name: 'a', current: undefined },
      { name: 'b', current: '10.88.0.1' },
      { name: 'c', current: '10.88.0.1' }, // a clone of b's configuration
      { name: 'd', current: '10.99.0.5' }, // outside the range
    ],
    '10.88.0.0/24',
  );
  assert.equal(got, ['10.88.0.2', '10.88.0.1', '10.88.0.3', '10.88.0.4']);
});

test('removing a server renumbers nobody', () => {
  const before = assignAddresses(
    ['a', 'b', 'c'].map((name) => ({ name, current: undefined })),
    '10.88.0.0/24',
  );
  const after = assignAddresses(
    [
      { name: 'a', current: before[0] },
      { name: 'c', current: before[2] },
      { name: 'd', current: undefined },
    ],
    '10.88.0.0/24',
  );
  assert.equal(after, ['10.88.0.1', '10.88.0.3', '10.88.0.2']);
});

test('a full range is a clear error naming PRIVATE_NETWORK', () => {
  assert.equal(hostRange('10.0.0.0/30'), { first: 167772161, last: 167772162 });
  assert.throws(
    () =>
      assignAddresses(
        ['a', 'b', 'c'].map((name) => ({ name, current: undefined })),
        '10.0.0.0/30',
      ),
    (e: unknown) =>
      e instanceof ConfigError && /PRIVATE_NETWORK=10\.0\.0\.0\/30.*for c/.test(e.message),
  );
});

test("servers.txt's private addresses win when every line has one", () => {
  const servers = [
    { spec: 'a', private: '192.168.1.10' },
    { spec: 'b', private: '192.168.1.11' },
  ];
  assert.equal(privateAddresses(servers, ['10.88.0.9', undefined], '10.88.0.0/24'), [
    '192.168.1.10',
    '192.168.1.11',
  ]);
  assert.equal(privateAddresses([{ spec: 'a' }], [undefined], '10.88.0.0/24'), ['10.88.0.1']);
});

test('PRIVATE_NETWORK must be a plain IPv4 range', () => {
  assert.is(cidrProblem('10.88.0.0/24'), undefined);
  assert.match(
    cidrProblem('10.88.0.1/24') ?? '',
    /host bits set \(the range is 10\.88\.0\.0\/24\)/,
  );
  assert.match(cidrProblem('10.88.0.0/31') ?? '', /\/8 to \/30/);
  assert.match(cidrProblem('fd00::/64') ?? '', /not an IPv4 range/);
});

test('survey: key, address, kernel, handshakes; a garbled key is no key', () => {
  const conf = renderWgConf({
    address: '10.88.0.2',
    cidr: '10.88.0.0/24',
    port: 51820,
    peers: [{ name: 's1', publicKey: KEY_A, address: '172.30.0.11', private: '10.88.0.1' }],
  });
  const out = [
    '@@shoestring:wg_public',
    KEY_B,
    '@@shoestring:wg_conf',
    conf,
    '@@shoestring:wg_kernel',
    'no',
    '@@shoestring:wg_handshakes',
    `${KEY_A}\t1796174873`,
  ].join('\n');
  const s = parseNetworkSurvey(out);
  assert.is(s.publicKey, KEY_B);
  assert.is(s.address, '10.88.0.2');
  assert.is(s.kernel, false);
  assert.is(s.handshakes.get(KEY_A), 1796174873);
  assert.ok(sameConf(s.conf, conf));
  assert.is(parseNetworkSurvey('@@shoestring:wg_public\nnot-a-key\n').publicKey, undefined);
});

test('wg0.conf: no private key in it, one peer per other server, /32 routes', () => {
  const conf = renderWgConf({
    address: '10.88.0.1',
    cidr: '10.88.0.0/24',
    port: 51820,
    peers: [
      { name: 's2', publicKey: KEY_A, address: '172.30.0.12', private: '10.88.0.2' },
      { name: 's3', publicKey: KEY_B, address: '2001:db8::3', private: '10.88.0.3' },
    ],
  });
  assert.match(conf, /^Address = 10\.88\.0\.1\/24$/m);
  assert.match(conf, /^PostUp = wg set %i private-key \/etc\/wireguard\/private\.key$/m);
  assert.not.match(conf, /^PrivateKey/m);
  assert.equal(configuredPeers(conf), [
    { publicKey: KEY_A, endpoint: '172.30.0.12:51820', allowedIps: '10.88.0.2/32' },
    { publicKey: KEY_B, endpoint: '[2001:db8::3]:51820', allowedIps: '10.88.0.3/32' },
  ]);
});

test('the survey and the sync script are valid bash; the key never reaches a command line', () => {
  for (const script of [NETWORK_SURVEY, renderWgSync()]) {
    const r = spawnSync('bash', ['-n'], { input: script });
    assert.is(r.status, 0, r.stderr.toString());
  }
  assert.match(renderWgSync(), /getline k < f/);
  assert.not.match(renderWgSync(), /\$\(cat/);
});

test('status: private address and the oldest handshake; never seen and stale peers stand out', () => {
  const now = 1_800_000_000;
  const out = (...ages: number[]) =>
    [`wg 10.88.0.1 ${now}`, ...ages.map((a, i) => `key${i}\t${a < 0 ? 0 : now - a}`)].join('\n');
  assert.equal(networkCell(out(12, 40), undefined), {
    text: '10.88.0.1, 2 peers, handshake ≤40s ago',
    health: 'ok',
  });
  assert.is(networkCell(out(12, 400), undefined).health, 'warn');
  assert.equal(networkCell(out(12, -1), undefined), {
    text: '10.88.0.1, 2 peers, 1 never seen',
    health: 'bad',
  });
  assert.is(networkCell(`wg 10.88.0.1 ${now}\ndown`, undefined).health, 'bad');
  assert.equal(networkCell('', '192.168.1.10'), {
    text: '192.168.1.10 (own network)',
    health: 'ok',
  });
  assert.is(networkCell('', undefined).health, 'bad');
});

function surveyText(o: { key?: string | undefined; conf?: string }): string {
  return [
    '@@shoestring:wg_public',
    o.key ?? '',
    '@@shoestring:wg_conf',
    o.conf ?? '',
    '@@shoestring:wg_kernel',
    'no',
  ].join('\n');
}

const KEYS = [KEY_A, KEY_B, 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg='];

/** A context of three servers whose surveys are given; and an io that records what it is asked. */
function cluster(surveys: string[]) {
  const base = hostContext(
    ['s1', 's2', 's3'].map((hostname, i) => ({
      hostname,
      address: `203.0.113.${i + 1}`,
      private: `10.88.0.${i + 1}`,
    })),
  );
  const servers = base.servers.map((s, i) => ({
    ...s,
    surveys: new Map([['network', surveys[i] ?? '']]),
  }));
  const applied: string[] = [];
  const io: ClusterIO = {
    dryRun: false,
    query: (on) =>
      Promise.resolve(`${KEYS[servers.findIndex((s) => s.hostname === on.hostname)] ?? ''}\n`),
    apply: (on, phase) => {
      applied.push(`${on.hostname}: ${phase.title}`);
      return Promise.resolve();
    },
  };
  return { ctx: { ...base, servers }, io, applied };
}

test('prepare: keys made where missing, then every server that lacks a peer gets it', async () => {
  const { ctx, io, applied } = cluster(['', surveyText({ key: KEYS[1] }), '']);
  const state = await network.prepare!(ctx, io);
  assert.equal(
    ctx.servers.map((s) => state.keys.get(s.hostname)),
    KEYS,
  );
  assert.equal(applied.sort(), [
    's1: Private network',
    's1: WireGuard key',
    's2: Private network',
    's3: Private network',
    's3: WireGuard key',
  ]);
});

test('prepare on a converged mesh changes nothing; a server leaving stays a peer until its turn', async () => {
  const confOf = (i: number, peers: number[]) =>
    renderWgConf({
      address: `10.88.0.${i + 1}`,
      cidr: '10.88.0.0/24',
      port: 51820,
      peers: peers.map((j) => ({
        name: `s${j + 1}`,
        publicKey: KEYS[j] ?? '',
        address: `203.0.113.${j + 1}`,
        private: `10.88.0.${j + 1}`,
      })),
    });
  const converged = cluster(
    [0, 1, 2].map((i) =>
      surveyText({
        key: KEYS[i],
        conf: confOf(
          i,
          [0, 1, 2].filter((j) => j !== i),
        ),
      }),
    ),
  );
  await network.prepare!(converged.ctx, converged.io);
  assert.equal(converged.applied, []);
  // s1 still lists a fourth server that servers.txt dropped: prepare keeps it (etcd may still
  // need it), the host's own phase drops it.
  const gone = {
    name: 's4',
    publicKey: 'QK0ZlOUUOUXu7gOxGD4Ba9EhJTDLs4FfIg2aqWyY+lE=',
    address: '203.0.113.4',
    private: '10.88.0.4',
  };
  const withGone = renderWgConf({
    address: '10.88.0.1',
    cidr: '10.88.0.0/24',
    port: 51820,
    peers: [
      { name: 's2', publicKey: KEYS[1] ?? '', address: '203.0.113.2', private: '10.88.0.2' },
      { name: 's3', publicKey: KEYS[2] ?? '', address: '203.0.113.3', private: '10.88.0.3' },
      gone,
    ],
  });
  const leaving = cluster([
    surveyText({ key: KEYS[0], conf: withGone }),
    surveyText({ key: KEYS[1], conf: confOf(1, [0, 2]) }),
    surveyText({ key: KEYS[2], conf: confOf(2, [0, 1]) }),
  ]);
  const state = await network.prepare!(leaving.ctx, leaving.io);
  assert.equal(leaving.applied, []);
  const [phase] = network.phases({ ...leaving.ctx, self: leaving.ctx.servers[0]! }, state);
  const conf = (staticSteps(phase!) ?? []).find((s) => s.kind === 'file' && s.path === WG_CONF);
  assert.ok(conf?.kind === 'file');
  assert.not.match(conf.content, /10\.88\.0\.4/);
  assert.equal(conf.notify, [{ service: 'wg-quick@wg0', action: 'reload' }]);
  // s2 lists no departing peer: its host plans the phase prepare made (its file as it is).
  const [own] = network.phases({ ...leaving.ctx, self: leaving.ctx.servers[1]! }, state);
  const ownConf = (staticSteps(own!) ?? []).find((s) => s.kind === 'file' && s.path === WG_CONF);
  assert.ok(ownConf?.kind === 'file');
  assert.is(ownConf.content, confOf(1, [0, 2]));
});

test('a server whose private address changes restarts its interface instead of reloading it', async () => {
  const old = renderWgConf({ address: '10.88.0.9', cidr: '10.88.0.0/24', port: 51820, peers: [] });
  const c = cluster([
    surveyText({ key: KEYS[0], conf: old }),
    surveyText({ key: KEYS[1] }),
    surveyText({ key: KEYS[2] }),
  ]);
  const state = await network.prepare!(c.ctx, c.io);
  const [phase] = network.phases({ ...c.ctx, self: c.ctx.servers[0]! }, state);
  const conf = (staticSteps(phase!) ?? []).find((s) => s.kind === 'file' && s.path === WG_CONF);
  assert.ok(conf?.kind === 'file');
  assert.equal(conf.notify, [{ service: 'wg-quick@wg0', action: 'restart' }]);
});

test("etcd's drop-in orders it after WireGuard only when there is WireGuard", () => {
  const data = { initialEnvFile: '/x', timeoutStartSec: 300 };
  const wg = render('etcd/override.conf.hbs', { ...data, meshService: 'wg-quick@wg0.service' });
  assert.match(wg, /^After=wg-quick@wg0\.service$/m);
  assert.match(wg, /^Wants=wg-quick@wg0\.service$/m);
  const own = render('etcd/override.conf.hbs', { ...data, meshService: false });
  assert.not.match(own, /\[Unit\]|wg-quick/);
  assert.match(own, /^TimeoutStartSec=300$/m);
});

test.run();
