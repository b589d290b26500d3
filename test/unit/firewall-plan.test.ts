import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ignoredAddresses, renderJail } from '../../src/firewall/jail.ts';
import { spawnSync } from 'node:child_process';
import {
  byFamily,
  firewallPlan,
  privateInterface,
  sshPorts,
  SSHD_PORTS_SURVEY,
} from '../../src/firewall/plan.ts';
import { hostContext, THREE, type ServerSpec } from './fixtures/cluster.ts';

test('three servers on WireGuard: WireGuard from the public addresses, wg0 from the private', () => {
  const plan = firewallPlan(hostContext(THREE));
  assert.equal(plan.cluster, [
    {
      why: 'wireguard',
      ports: { proto: 'udp', numbers: [51820] },
      from: { v4: ['203.0.113.10', '203.0.113.11', '203.0.113.12'], v6: [] },
    },
    {
      why: 'private network',
      from: { v4: ['10.88.0.1', '10.88.0.2', '10.88.0.3'], v6: [] },
      iifname: 'wg0',
    },
  ]);
  assert.equal(plan.rules, []);
  assert.equal(plan.open, [
    { why: 'ssh', ports: { proto: 'tcp', numbers: [22, 2222] } },
    { why: 'web', ports: { proto: 'tcp', numbers: [80, 443] } },
  ]);
});

test('an existing private network: no WireGuard rule, the privates on any interface', () => {
  const own = THREE.map((s) => ({ ...s, ownNetwork: true }));
  const ctx = hostContext(own);
  assert.is(privateInterface(ctx), undefined);
  assert.equal(firewallPlan(ctx).cluster, [
    { why: 'private network', from: { v4: ['10.88.0.1', '10.88.0.2', '10.88.0.3'], v6: [] } },
  ]);
});

test('settings: WIREGUARD_PORT, SSH_ALLOW_FROM split by family, FIREWALL_RULES in order', () => {
  const ctx = hostContext(
    THREE,
    'WIREGUARD_PORT=51999\nSSH_ALLOW_FROM=198.51.100.7, 2001:db8::/32,192.0.2.0/24\nFIREWALL_RULES=tcp dport 8080 accept; udp dport 9999 drop\n',
  );
  const plan = firewallPlan(ctx);
  assert.equal(plan.cluster[0]?.ports, { proto: 'udp', numbers: [51999] });
  assert.equal(plan.open[0], {
    why: 'ssh',
    ports: { proto: 'tcp', numbers: [22, 2222] },
    from: { v4: ['198.51.100.7', '192.0.2.0/24'], v6: ['2001:db8::/32'] },
  });
  assert.equal(plan.rules, ['tcp dport 8080 accept', 'udp dport 9999 drop']);
});

test('a server with an IPv6 public address: WireGuard allowed from it with ip6', () => {
  const servers: ServerSpec[] = [
    ...THREE.slice(0, 2),
    { hostname: 's3', address: '2001:db8::3', private: '10.88.0.3' },
  ];
  const wg = firewallPlan(hostContext(servers)).cluster[0];
  assert.equal(wg?.from, { v4: ['203.0.113.10', '203.0.113.11'], v6: ['2001:db8::3'] });
});

test('extra cluster traffic (a database on the private network) goes beside the cluster rules', () => {
  const extra = {
    why: 'galera',
    iifname: 'wg0',
    ports: { proto: 'tcp', numbers: [4567] },
    from: { v4: ['10.88.0.1'], v6: [] },
  } as const;
  const plan = firewallPlan(hostContext(THREE), [extra]);
  assert.equal(plan.cluster.at(-1), extra);
});

test('SSH ports: each once, ascending, 22 for servers without a port', () => {
  const servers = [
    { ...THREE[0]!, port: 2200 },
    { ...THREE[1]!, port: 2200 },
    THREE[2]!,
    { hostname: 's4', address: '203.0.113.13', private: '10.88.0.4' },
  ];
  assert.equal(sshPorts(hostContext(servers)), [22, 2200, 2222]);
});

test("SSH ports: also every port a server's sshd listens on (its survey)", () => {
  const ctx = hostContext(THREE);
  const servers = ctx.servers.map((s, i) =>
    i === 1 ? { ...s, surveys: new Map([['firewall', '22\n2022\nnot-a-port\n']]) } : s,
  );
  assert.equal(sshPorts({ ...ctx, servers }), [22, 2022, 2222]);
  const r = spawnSync('bash', ['-n'], { input: SSHD_PORTS_SURVEY });
  assert.is(r.status, 0);
});

test('byFamily: each address once, CIDRs by their address, host names dropped', () => {
  assert.equal(byFamily(['192.0.2.1', 'fd00::/8', 'example.com', '192.0.2.1', '10.0.0.0/8']), {
    v4: ['192.0.2.1', '10.0.0.0/8'],
    v6: ['fd00::/8'],
  });
});

test('fail2ban: loopback, every server (public and private), then FAIL2BAN_IGNORE', () => {
  const ctx = hostContext(THREE, 'FAIL2BAN_IGNORE=198.51.100.7,203.0.113.10\n');
  assert.equal(ignoredAddresses(ctx), [
    '127.0.0.1/8',
    '::1',
    '203.0.113.10',
    '10.88.0.1',
    '203.0.113.11',
    '10.88.0.2',
    '203.0.113.12',
    '10.88.0.3',
    '198.51.100.7',
  ]);
  const settings = renderJail(ctx)
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(settings, [
    '[DEFAULT]',
    'banaction = nftables-multiport',
    'banaction_allports = nftables-allports',
    `ignoreip = ${ignoredAddresses(ctx).join(' ')}`,
    '[sshd]',
    'enabled = true',
    'backend = systemd',
    'port = 22,2222',
  ]);
});

test.run();
