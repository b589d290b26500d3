/**
 * More than 5 servers: 6 lab servers provisioned at once give 5 voting etcd members and one
 * server whose etcd client API is a local gRPC proxy. The proxy serves like a member (health,
 * data, leader questions), survives the death of a voter, and is promoted when a voter leaves
 * the servers file; the server that left comes back as a proxy.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { on } from './helpers.ts';
import { events, labUp, runCommand } from './provision-helpers.ts';
import {
  changeList,
  curlBody,
  DOMAIN,
  etcdPrivateAddress,
  etcdView,
  labAddresses,
  privateOf,
  provision,
  serversFile,
  serversFileOf,
} from './stack-checks.ts';
import { within } from './stack-suite.ts';

const addrs = (): string[] => labAddresses().slice(0, 6);
const six = () => ['--servers', serversFile(6), '--env', '.lab/.env'];

/** The six lab servers without the one at `index`. */
function without(index: number): string[] {
  const rest = addrs().filter((_, i) => i !== index);
  return ['--servers', serversFileOf(rest, `without-${index}`), '--env', '.lab/.env'];
}

const isProxy = async (a: string) =>
  (await on(a, 'systemctl is-active shoestring-etcd-proxy; systemctl is-enabled etcd')).out;

const leaderOf = async (a: string) => {
  const r = runCommand('am-i-the-leader.ts', [...six(), a], 60_000);
  return { code: r.status, out: r.stdout.trim() };
};

test.before(() => {
  // Fresh servers: the first test provisions 6 at once.
  runCommand('scripts/lab.ts', ['down']);
  labUp(6);
});

test('6 fresh servers: one provision, 5 voting members, the 6th runs the etcd proxy', async () => {
  const res = provision(six());
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  const [s1 = '', , , , , s6 = ''] = addrs();
  const view = await etcdView(s1);
  assert.is(view.memberCount, 5);
  const members = (await on(s1, 'ETCDCTL_API=3 etcdctl member list')).out;
  assert.not.match(members, /172\.30\.0\.16:2380/, 'the 6th is not a member');
  // On the 6th: the proxy runs, etcd itself cannot start (masked), and nothing else listens.
  assert.is(await isProxy(s6), 'active\nmasked');
  const listen = (await on(s6, 'ss -ltn | grep -c ":2379 "')).out;
  assert.is(listen, '1', 'only 127.0.0.1:2379 on the proxy server');
  for (const a of addrs()) assert.is((await curlBody(a, DOMAIN(), '/healthz')).code, '200', a);
  // The agent on the 6th reaches etcd through the voters (its gRPC proxy has no JSON gateway):
  // the certificate is installed there too, within provision's wait.
  assert.match(res.stdout, /installed on every server: HTTPS on 443/);
  assert.is((await on(s6, 'test -s /etc/shoestring/tls/fullchain.pem && echo yes')).out, 'yes');
});

test('the voters and the proxy accept only clients with a certificate from the cluster CA', async () => {
  const [s1 = '', , , , , s6 = ''] = addrs();
  const voter = await etcdPrivateAddress(s1);
  // From the proxy server to a voter's private address, and to its own proxy on loopback.
  for (const host of [voter, '127.0.0.1']) {
    const plain = await on(
      s6,
      `curl -s -m 3 -o /dev/null -w '%{http_code}' http://${host}:2379/health || true`,
    );
    assert.is.not(plain.out, '200', `no plain HTTP on ${host}`);
    const anonymous = await on(
      s6,
      `curl -s -m 3 --cacert /etc/shoestring/etcd-pki/ca.crt https://${host}:2379/health || true`,
    );
    assert.not.match(anonymous.out, /"health"/, `TLS without a client certificate on ${host}`);
  }
  // Root's certificate opens both; the proxy's health needs none, on its metrics listener.
  const tls =
    '--cacert /etc/shoestring/etcd-pki/ca.crt --cert /etc/shoestring/etcd-pki/client.crt --key /etc/shoestring/etcd-pki/client.key';
  assert.match((await on(s6, `curl -s -m 3 ${tls} https://${voter}:2379/health`)).out, /"true"/);
  assert.match(
    (await on(s6, `curl -s -m 3 --http1.1 ${tls} https://127.0.0.1:2379/health`)).out,
    /"true"/,
  );
  assert.match((await on(s6, 'curl -s -m 3 http://127.0.0.1:2381/health')).out, /"true"/);
  const app = await on(
    s6,
    'runuser -u www-data -- etcdctl --dial-timeout=2s get --keys-only --prefix /',
  );
  assert.is.not(app.code, 0, `www-data read etcd through the proxy: ${app.out}`);
});

test('through the proxy: data, health and the leader, as on a member', async () => {
  const [s1 = '', , , , , s6 = ''] = addrs();
  const value = `v${Date.now()}`;
  const put = await on(s6, `ETCDCTL_API=3 etcdctl put /shoestring/test/proxy ${value}`);
  assert.is(put.code, 0, put.out);
  const got = await on(s1, 'ETCDCTL_API=3 etcdctl get --print-value-only /shoestring/test/proxy');
  assert.is(got.out, value);

  const views = await Promise.all(
    addrs()
      .slice(0, 5)
      .map((a) => etcdView(a)),
  );
  assert.is(views.filter((v) => v.isLeader).length, 1);
  const leader = views.find((v) => v.isLeader)?.address ?? '';
  // A proxy never leads: false, exit 1, from the operator's machine and on the server.
  assert.equal(await leaderOf(s6), { code: 1, out: 'false' });
  assert.is((await on(s6, '/usr/local/bin/am-i-the-leader')).code, 1);
  assert.is((await leaderOf(leader)).out, 'true');
  // --which from the proxy names the same leader as etcdctl on the voters (by its private
  // address, where etcd knows it).
  const leaderPrivate = await etcdPrivateAddress(leader);
  assert.is((await on(s6, '/usr/local/bin/am-i-the-leader --which')).out, leaderPrivate);
  const which = runCommand('am-i-the-leader.ts', [...six(), '--which', s6], 60_000);
  assert.is(which.stdout.trim(), leaderPrivate);

  const st = runCommand('scripts/status.ts', [...six(), '--json'], 60_000);
  assert.is(st.status, 0, st.stdout + st.stderr);
  const rows = (
    JSON.parse(st.stdout) as {
      servers: { server: string; leader: boolean; etcd: { text: string } }[];
    }
  ).servers;
  assert.is(rows.filter((r) => r.leader).length, 1);
  assert.match(rows.find((r) => r.server === s6)?.etcd.text ?? '', /^proxy \(5 members\)$/);
});

test('/healthz on the proxy server: 503 while its proxy is down, 200 again after', async () => {
  const s6 = addrs()[5] ?? '';
  await on(s6, 'systemctl stop shoestring-etcd-proxy');
  try {
    // /healthz keeps its verdict for 1 s: 503 within a few seconds, not at once.
    const down = await within(
      5_000,
      async () => (await curlBody(s6, DOMAIN(), '/healthz')).code === '503',
    );
    assert.ok(down < 5, '503 while the proxy is down');
  } finally {
    await on(s6, 'systemctl start shoestring-etcd-proxy');
  }
  const took = await within(
    20_000,
    async () => (await curlBody(s6, DOMAIN(), '/healthz')).code === '200',
  );
  assert.ok(took < 20, 'healthy again');
});

test('a voter dies: the proxy keeps answering through the others', async () => {
  const [s1 = '', , , , , s6 = ''] = addrs();
  const killed = runCommand('scripts/lab.ts', ['kill', 's1'], 60_000);
  assert.is(killed.status, 0, killed.stdout + killed.stderr);
  try {
    const took = await within(10_000, async () => {
      const r = await on(
        s6,
        'ETCDCTL_API=3 etcdctl --command-timeout=2s get --print-value-only /shoestring/test/proxy',
      );
      return r.code === 0 && (await curlBody(s6, DOMAIN(), '/healthz')).code === '200';
    });
    assert.ok(took < 10, 'the proxy answered within 10 s of the kill');
  } finally {
    const started = runCommand('scripts/lab.ts', ['start', 's1'], 120_000);
    assert.is(started.status, 0, started.stdout + started.stderr);
  }
  // The restarted member comes back by itself (etcd is enabled on voters).
  const back = await within(
    60_000,
    async () => (await etcdView(s1).catch(() => undefined))?.memberCount === 5,
  );
  assert.ok(back < 60, 's1 is a healthy member again');
});

test('a configuration change restarts the members one at a time, even all in one group', async () => {
  const voters = addrs().slice(0, 5);
  // Drift on every member: provision rewrites the file, which calls for a restart.
  for (const a of voters) await on(a, 'echo "# drift" >> /etc/default/etcd');
  const res = provision([...six(), '--percent', '100']);
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  // The servers share this machine's monotonic clock: each restart (start → ready) must not
  // overlap another's.
  const spans = [];
  for (const a of voters) {
    const r = await on(
      a,
      'systemctl show etcd -p ExecMainStartTimestampMonotonic -p ActiveEnterTimestampMonotonic --value; grep -c drift /etc/default/etcd || true',
    );
    const [start = '0', ready = '0', drift = ''] = r.out.split('\n');
    assert.is(drift, '0', `${a}: the file was rewritten`);
    spans.push({ a, start: Number(start), ready: Number(ready) });
  }
  spans.sort((x, y) => x.start - y.start);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1];
    const cur = spans[i];
    assert.ok(prev && cur && cur.start >= prev.ready, `restarts overlap: ${JSON.stringify(spans)}`);
  }
  assert.is((await etcdView(voters[0] ?? '')).memberCount, 5);
});

test('a second provision of the 6 reports 0 changes', () => {
  const res = provision(six());
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  assert.equal(changeList(res), []);
});

test('a voter leaves the servers file: it is removed and the proxy becomes a member', async () => {
  const [s1 = '', , , , s5 = '', s6 = ''] = addrs();
  // Members are listed at their private addresses (peers talk over the mesh).
  const [p5, p6] = await Promise.all([privateOf(s5), privateOf(s6)]);
  assert.match(p5, /^10\.88\.0\.\d+$/);
  const res = provision(without(4));
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  const members = (await on(s1, 'ETCDCTL_API=3 etcdctl member list')).out;
  assert.ok(members.includes(`https://${p6}:2380`), members);
  assert.not.ok(members.includes(`https://${p5}:2380`), members);
  const view = await etcdView(s6);
  assert.is(view.memberCount, 5);
  assert.is(
    (await on(s6, 'systemctl is-active etcd; test -e /etc/shoestring/etcd-proxy.env || echo gone'))
      .out,
    'active\ngone',
  );
});

test('the server that left comes back as a proxy; then 0 changes', async () => {
  const s5 = addrs()[4] ?? '';
  const res = provision(six());
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  // Its "certificate installed" record was pruned while it was away: its agent says it again
  // (provision waited 120 s for it, then warned, when it did not).
  const waited = events(res.stdout).filter(
    (e) => e.type === 'warn' && /not installed yet/.test(String(e['message'])),
  );
  assert.equal(waited, []);
  assert.is(await isProxy(s5), 'active\nmasked');
  assert.is(
    (await on(s5, 'test -e /var/lib/etcd/shoestring && echo stale || echo clean')).out,
    'clean',
  );
  assert.is((await leaderOf(s5)).out, 'false');
  const again = provision(six());
  assert.equal(changeList(again), []);
});

test('destroying a proxy server removes its proxy and leaves the 5 members alone', async () => {
  const [s1 = '', , , , s5 = ''] = addrs();
  const res = runCommand('scripts/destroy.ts', [...six(), s5, '--yes'], 120_000);
  assert.is(res.status, 0, res.stdout + res.stderr);
  const left = await on(
    s5,
    'systemctl is-active shoestring-etcd-proxy etcd; ls /etc/shoestring/etcd-proxy.env /etc/systemd/system/shoestring-etcd-proxy.service 2>&1 | grep -c "No such"',
  );
  assert.is(left.out, 'inactive\ninactive\n2');
  assert.is((await etcdView(s1)).memberCount, 5);
});

// The next suites expect 3 servers: leave no lab behind.
test.after(() => {
  runCommand('scripts/lab.ts', ['down']);
});

test.run();
