/**
 * The private network and the firewall against real servers: three provisioned servers and a
 * fourth lab server that is not in servers.txt (the stranger: the one the scale suite added and
 * removed again, so it still holds the cluster's old keys and certificates). From the stranger,
 * etcd, the app instances and the subscription server give no answer (even when it routes the
 * private range through a server), while SSH, 80 and 443 do; a subscription it forges adds no
 * node, while the same datagram from a server of the cluster does. etcd refuses unprivileged
 * users and answers root's etcdctl with no flags. A firewall rule that cuts new SSH connections
 * rolls itself back and provision says so. Adding and removing a server updates every peer list
 * and firewall.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { localStatus } from '../../src/components/web.ts';
import { on } from './helpers.ts';
import { labUp, runCommand, totals } from './provision-helpers.ts';
import {
  DOMAIN,
  envFile,
  labAddresses,
  privateOf,
  provision,
  serversFileOf,
  sleep,
} from './stack-checks.ts';

let addrs: string[] = [];
let three = '';
let four = '';
let stranger = '';

/** What a TCP connect from `from` to addr:port gets: open, refused (RST) or nothing. */
async function connect(from: string, addr: string, port: number): Promise<string> {
  const r = await on(
    from,
    `timeout 3 bash -c 'exec 3<>/dev/tcp/${addr}/${port}' 2>/dev/null; echo "rc=$?"`,
  );
  const rc = /rc=(\d+)/.exec(r.out)?.[1];
  return rc === '0' ? 'open' : rc === '124' ? 'nothing' : 'refused';
}

/** A uWSGI subscription datagram for `key` announcing `node`, sent 3 times from `from`. */
async function forge(from: string, server: string, key: string, node: string): Promise<void> {
  const py = [
    'import socket, struct, time',
    'def kv(k, v): k, v = k.encode(), v.encode(); return struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v',
    `body = kv("key", "${key}") + kv("address", "${node}") + kv("modifier1", "0")`,
    'pkt = struct.pack("<BHB", 224, len(body), 0) + body',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    `for _ in range(3): s.sendto(pkt, ("${server}", 7000)); time.sleep(0.3)`,
  ].join('\n');
  const r = await on(from, `python3 - <<'EOF'\n${py}\nEOF`);
  assert.is(r.code, 0, r.out);
}

/** The status code s1's front answers for `host` (curl on s1 itself: the front is local). */
async function codeFor(server: string, host: string): Promise<string> {
  const r = await on(server, localStatus(host));
  return r.out.trim();
}

/**
 * Runs `fn` while the stranger routes the private range through `via` (as a neighbour on the
 * same segment could), then puts its own route back: the stranger is a former member, whose
 * WireGuard route must survive for it to join again later.
 */
async function routedThrough<T>(via: string, fn: () => Promise<T>): Promise<T> {
  const saved = (await on(stranger, 'ip route show 10.88.0.0/24')).out.trim();
  const route = await on(stranger, `ip route replace 10.88.0.0/24 via ${via}`);
  assert.is(route.code, 0, route.out);
  try {
    return await fn();
  } finally {
    const back = saved ? `ip route replace ${saved}` : 'ip route del 10.88.0.0/24';
    const r = await on(stranger, back);
    assert.is(r.code, 0, `${back}: ${r.out}`);
  }
}

async function peerCount(a: string): Promise<number> {
  const r = await on(a, 'wg show wg0 peers | wc -l');
  return Number(r.out.trim());
}

test.before(() => {
  // The scale suite's lab (3 provisioned, a 4th that left); fresh servers when run alone.
  labUp(4);
  addrs = labAddresses();
  three = serversFileOf(addrs.slice(0, 3), 'net3');
  four = serversFileOf(addrs.slice(0, 4), 'net4');
  stranger = addrs[3] ?? '';
});

test('provision of 3: one private address each, every other server a peer', async () => {
  const res = provision(['--env', '.lab/.env', '--servers', three]);
  assert.is(res.status, 0, res.stdout + res.stderr);
  const privates = await Promise.all(addrs.slice(0, 3).map(privateOf));
  assert.is(new Set(privates).size, 3, privates.join(' '));
  for (const p of privates) assert.match(p, /^10\.88\.0\.\d+$/);
  for (const a of addrs.slice(0, 3)) assert.is(await peerCount(a), 2, a);
});

test('from the stranger: 22, 80, 443 answer; etcd, app instances, 7000 get nothing', async () => {
  const [s1 = ''] = addrs;
  const s1Private = await privateOf(s1);
  // Every port s1 listens on beyond loopback, except the public ones.
  const ss = await on(s1, "ss -Hltn | awk '{print $4}'");
  const cluster = new Set(
    ss.out
      .split('\n')
      .filter((l) => !/^(127\.|\[::1\]|::1)/.test(l))
      .map((l) => Number(l.slice(l.lastIndexOf(':') + 1)))
      .filter((p) => ![22, 80, 443].includes(p)),
  );
  for (const p of [2379, 2380]) cluster.add(p);
  assert.ok(cluster.size >= 4, `cluster ports: ${[...cluster].join(' ')}`);
  // 443: the sites over HTTPS (the cluster certificate is installed by then).
  for (const p of [22, 80, 443]) assert.is(await connect(stranger, s1, p), 'open', `port ${p}`);
  for (const p of cluster) assert.is(await connect(stranger, s1, p), 'nothing', `port ${p}`);
  // Even with the private range routed through s1 (a neighbour on the same segment could).
  await routedThrough(s1, async () => {
    for (const p of cluster)
      assert.is(await connect(stranger, s1Private, p), 'nothing', `private port ${p}`);
  });
});

test('a subscription forged by the stranger adds no node; the same one from a server does', async () => {
  const [s1 = '', s2 = ''] = addrs;
  const s1Private = await privateOf(s1);
  const s2Private = await privateOf(s2);
  const port = (
    await on(
      s2,
      "sed -n 's/^socket = .*:\\([0-9]*\\)$/\\1/p' /etc/uwsgi-emperor/vassals/app-app1.ini",
    )
  ).out.trim();
  assert.match(port, /^\d+$/);
  const key = `forged.${DOMAIN()}`;
  const node = `${s2Private}:${port}`;
  assert.is.not(await codeFor(s1, key), '200', 'nothing serves the forged name yet');
  await forge(stranger, s1, key, node);
  await routedThrough(s1, () => forge(stranger, s1Private, key, node));
  await sleep(1000);
  assert.is.not(await codeFor(s1, key), '200', "the stranger's subscription was accepted");
  // The control: the same datagram from inside the cluster is accepted (so the test can fail).
  await forge(s2, s1Private, key, node);
  await sleep(1000);
  assert.is(await codeFor(s1, key), '200', 'a subscription from the cluster is accepted');
});

test('etcd: www-data is refused; root has a ready etcdctl listing 3 distinct members', async () => {
  const [s1 = ''] = addrs;
  const asApp = await on(
    s1,
    'runuser -u www-data -- etcdctl get --prefix / --keys-only 2>&1; echo "rc=$?"; runuser -u www-data -- curl -s -m 3 http://127.0.0.1:2379/v3/kv/range -d "{}" 2>&1; echo "rc=$?"; runuser -u www-data -- curl -sk -m 3 https://127.0.0.1:2379/v3/kv/range -d "{}" 2>&1; echo "rc=$?"',
  );
  const codes = [...asApp.out.matchAll(/rc=(\d+)/g)].map((m) => m[1]);
  assert.equal(codes.length, 3, asApp.out);
  assert.ok(
    codes.every((c) => c !== '0'),
    `www-data reached etcd:\n${asApp.out}`,
  );
  assert.not.match(asApp.out, /shoestring\/pki/);
  const table = await on(s1, 'etcdctl endpoint status --cluster -w table');
  assert.is(table.code, 0, table.out);
  const endpoints = [...table.out.matchAll(/https:\/\/(10\.88\.0\.\d+):2379/g)].map((m) => m[1]);
  assert.is(endpoints.length, 3, table.out);
  assert.is(new Set(endpoints).size, 3, table.out);
  const leader = await on(s1, 'am-i-the-leader; echo "rc=$?"');
  assert.match(leader.out, /^(true|false)\nrc=[01]$/, leader.out);
});

test('a rule that drops new SSH connections rolls itself back, and provision says so', async () => {
  const [s1 = ''] = addrs;
  const before = await on(s1, 'nft list table inet shoestring');
  const bad = envFile({ FIREWALL_RULES: 'tcp dport 22 drop' });
  const res = provision(['--env', bad, '--servers', three]);
  assert.is.not(res.status, 0, res.stdout);
  assert.match(res.stdout + res.stderr, /rolled back/);
  // The previous ruleset is loaded again, new SSH connections work, the rejected one is kept.
  const after = await on(s1, 'nft list table inet shoestring; ls /var/lib/shoestring/firewall/');
  assert.is(after.code, 0, after.out);
  assert.not.match(after.out, /tcp dport 22 drop/);
  assert.ok(after.out.startsWith(before.out), `${before.out}\n---\n${after.out}`);
  assert.match(after.out, /rejected\.nft/);
  // Only the first group was touched: the others never loaded it.
  const s3 = await on(addrs[2] ?? '', 'nft list table inet shoestring');
  assert.not.match(s3.out, /tcp dport 22 drop/);
  // And with the good settings the cluster is converged again.
  const again = provision(['--env', '.lab/.env', '--servers', three]);
  assert.is(again.status, 0, again.stdout + again.stderr);
});

test('adding a server adds its peer and firewall rule everywhere; removing it takes both away', async () => {
  const strangerPrivate = (): Promise<string> => privateOf(stranger);
  const add = provision(['--env', '.lab/.env', '--servers', four]);
  assert.is(add.status, 0, add.stdout + add.stderr);
  const p4 = await strangerPrivate();
  for (const a of addrs.slice(0, 4)) {
    assert.is(await peerCount(a), 3, a);
    if (a === stranger) continue;
    const fw = await on(a, 'nft list table inet shoestring');
    assert.ok(fw.out.includes(stranger) && fw.out.includes(p4), `${a}:\n${fw.out}`);
  }
  const members = await on(addrs[0] ?? '', 'etcdctl member list');
  assert.is(members.out.trim().split('\n').length, 4, members.out);

  const remove = provision(['--env', '.lab/.env', '--servers', three]);
  assert.is(remove.status, 0, remove.stdout + remove.stderr);
  for (const a of addrs.slice(0, 3)) {
    assert.is(await peerCount(a), 2, a);
    const fw = await on(a, 'nft list table inet shoestring');
    assert.not.ok(fw.out.includes(` ${stranger}`) || fw.out.includes(p4), `${a}:\n${fw.out}`);
  }
  const left = await on(addrs[0] ?? '', 'etcdctl member list');
  assert.is(left.out.trim().split('\n').length, 3, left.out);
});

test('a re-run reports 0 changes', () => {
  const res = provision(['--env', '.lab/.env', '--servers', three]);
  assert.is(res.status, 0, res.stdout + res.stderr);
  assert.is(totals(res.stdout).changed, 0, res.stdout);
});

// The stranger is deleted, as its provider would delete a VPS: the next suites get a lab of
// exactly the cluster's 3 servers.
test.after(() => {
  const res = runCommand('scripts/lab.ts', ['remove', stranger]);
  if (res.status !== 0) throw new Error(`lab remove failed:\n${res.stdout}\n${res.stderr}`);
});

test.run();
