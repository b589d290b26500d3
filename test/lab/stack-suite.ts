/**
 * The stack's "Done when", as one uvu suite run against 3 lab servers with a given env file, so
 * both WEB_SERVER values pass the same tests of the front. One provision is shared by all tests.
 * What does not depend on the front (etcd's members, leader and client certificates) is checked
 * once, with Apache; a silent failure is checked here with nginx (its own retry of a dropped
 * request), and with Apache, under load and with the database, by the chaos suite.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { silentFailureCheck } from './failover-checks.ts';
import { on } from './helpers.ts';
import { labUp, runCommand } from './provision-helpers.ts';
import {
  changeList,
  curlBody,
  DOMAIN,
  etcdPrivateAddress,
  etcdView,
  labAddresses,
  leaderAnswers,
  provision,
  servedBy,
  serversFile,
  sleep,
} from './stack-checks.ts';

export interface StackContext {
  args: string[];
  addresses: string[];
  names: Map<string, string>;
}

export function stackSuite(title: string, env: () => string, web: 'apache' | 'nginx') {
  const s = suite<StackContext>(title, { args: [], addresses: [], names: new Map() });

  s.before(async (ctx) => {
    labUp(3);
    ctx.addresses = labAddresses().slice(0, 3);
    ctx.args = ['--servers', serversFile(3), '--env', env()];
    for (const a of ctx.addresses) ctx.names.set(a, (await on(a, 'hostname')).out);
  });

  s('one provision converges on 3 servers', (ctx) => {
    const res = provision(ctx.args);
    assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  });

  s(`${web} is the front; the other one is stopped and disabled`, async (ctx) => {
    const [mine, other] = web === 'apache' ? ['apache2', 'nginx'] : ['nginx', 'apache2'];
    for (const a of ctx.addresses) {
      const r = await on(
        a,
        `systemctl is-active ${mine}; systemctl is-active ${other} || true; systemctl is-enabled ${other} 2>/dev/null || echo not-installed`,
      );
      const [m, o, e] = r.out.split('\n');
      assert.is(m, 'active', `${a}: ${mine}`);
      assert.is.not(o, 'active', `${a}: ${other} still runs`);
      assert.is.not(e, 'enabled', `${a}: ${other} still enabled`);
    }
  });

  s('each server answers app1 and app2 through its own front', async (ctx) => {
    for (const a of ctx.addresses) {
      for (const app of ['app1', 'app2']) {
        const r = await curlBody(a, `${app}.${DOMAIN()}`);
        assert.is(r.code, '200', `${a} ${app}: ${r.body}`);
        assert.match(r.body, new RegExp(`^${app}.* served by s\\d+$`, 'm'));
      }
    }
  });

  s(
    'requests through one server’s front are served by instances on all 3 (X-Served-By)',
    async (ctx) => {
      const expected = [...ctx.names.values()].sort();
      for (const app of ['app1', 'app2']) {
        const seen = await servedBy(ctx.addresses[0] ?? '', `${app}.${DOMAIN()}`, 24);
        assert.equal([...seen.keys()].sort(), expected, `${app}: ${JSON.stringify([...seen])}`);
      }
    },
  );

  s(
    '/healthz: 200 everywhere, 503 when the etcd member is down; a friendly page for an unknown app',
    async (ctx) => {
      for (const a of ctx.addresses) {
        const h = await curlBody(a, DOMAIN(), '/healthz');
        assert.is(h.code, '200', `${a}: ${h.body}`);
        assert.is(h.body.trim(), 'ok');
        const unknown = await curlBody(a, `no-such-app.${DOMAIN()}`);
        assert.match(unknown.code, /^50[023]$/);
        assert.match(unknown.body, /Back soon/);
      }
      const last = ctx.addresses[2] ?? '';
      await on(last, 'systemctl stop etcd');
      try {
        // /healthz keeps its verdict for a second: 503 within about that.
        let h = await curlBody(last, DOMAIN(), '/healthz');
        for (let i = 0; i < 10 && h.code === '200'; i++) {
          await sleep(500);
          h = await curlBody(last, DOMAIN(), '/healthz');
        }
        assert.is(h.code, '503');
        assert.not.match(h.body, /etcd|fastrouter|emperor/i, 'no detail leaked');
      } finally {
        await on(last, 'systemctl start etcd');
      }
      for (let i = 0; i < 30 && (await curlBody(last, DOMAIN(), '/healthz')).code !== '200'; i++)
        await sleep(1000);
      assert.is((await curlBody(last, DOMAIN(), '/healthz')).code, '200');
    },
  );

  // Checked once (they do not depend on the front): a test registered only for Apache.
  const once = (title: string, fn: (ctx: StackContext) => Promise<void>): void => {
    if (web === 'apache') s(title, fn);
  };

  once(
    'etcd: 3 members, exactly one leader; am-i-the-leader agrees with etcdctl on every server',
    async (ctx) => {
      const views = [];
      for (const a of ctx.addresses) views.push(await etcdView(a));
      assert.ok(
        views.every((v) => v.memberCount === 3),
        JSON.stringify(views),
      );
      assert.is(views.filter((v) => v.isLeader).length, 1);
      assert.is(new Set(views.map((v) => v.leaderId)).size, 1, 'all agree on the leader');
      // The client API answers on loopback and on the private address (TLS only, see below).
      for (const a of ctx.addresses) {
        const listen = (await on(a, `ss -ltnH 'sport = :2379' | awk '{print $4}' | sort`)).out;
        const own = `${await etcdPrivateAddress(a)}:2379`;
        assert.is(listen, ['127.0.0.1:2379', own].sort().join('\n'), `${a}: ${listen}`);
      }
      // --which names the leader by its private address (where etcd knows it).
      const leader = await etcdPrivateAddress(views.find((v) => v.isLeader)?.address ?? '');
      for (const v of views) {
        const ans = await leaderAnswers(v.address, ['--servers', serversFile(3), '--env', env()]);
        assert.is(ans.operator, v.isLeader ? 0 : 1, `${v.address}: ${ans.operatorOut}`);
        assert.is(ans.operatorOut, v.isLeader ? 'true' : 'false');
        assert.is(ans.onServer, v.isLeader ? 0 : 1, `${v.address} on the server`);
        const which = runCommand(
          'am-i-the-leader.ts',
          ['--servers', serversFile(3), '--env', env(), '--which', v.address],
          60_000,
        );
        assert.is(which.stdout.trim(), leader);
      }
    },
  );

  once(
    'etcd clients need a certificate: root has one (etcdctl without flags), nobody else gets in',
    async (ctx) => {
      const privates = await Promise.all(ctx.addresses.map((a) => etcdPrivateAddress(a)));
      for (const a of ctx.addresses) {
        const pki = '/etc/shoestring/etcd-pki';
        assert.is((await on(a, 'command -v etcdctl')).out, '/usr/local/bin/etcdctl', a);
        // Each member once, at its advertised TLS endpoint.
        const table = (await on(a, 'etcdctl endpoint status --cluster -w table')).out;
        const endpoints = [...table.matchAll(/\| (https:\/\/\S+) +\|/g)].map((m) => m[1]).sort();
        assert.equal(endpoints, privates.map((p) => `https://${p}:2379`).sort(), table);
        // No plain HTTP, no TLS without a client certificate, on loopback as on the private address.
        for (const host of ['127.0.0.1', privates[ctx.addresses.indexOf(a)] ?? '']) {
          const plain = await on(
            a,
            `curl -s -m 3 -o /dev/null -w '%{http_code}' http://${host}:2379/health || true`,
          );
          assert.is.not(plain.out, '200', `${a}: plain HTTP on ${host}`);
          const anonymous = await on(
            a,
            `curl -s -m 3 --cacert ${pki}/ca.crt https://${host}:2379/health || true`,
          );
          assert.not.match(anonymous.out, /"health"/, `${a}: no certificate on ${host}`);
        }
        // /health without a certificate: the metrics listener, loopback only.
        assert.match((await on(a, 'curl -s -m 3 http://127.0.0.1:2381/health')).out, /"true"/);
        // An unprivileged user (the web front's, the apps') reads no key and gets nothing.
        const app = await on(
          a,
          'runuser -u www-data -- etcdctl --dial-timeout=2s get --keys-only --prefix /',
        );
        assert.is.not(app.code, 0, `${a}: www-data read etcd: ${app.out}`);
        assert.is.not((await on(a, `runuser -u www-data -- cat ${pki}/ca.key`)).code, 0);
        const modes = await on(
          a,
          `stat -c '%n %a %U %G' ${pki} ${pki}/ca.key ${pki}/client.key ${pki}/peer.key`,
        );
        assert.equal(modes.out.split('\n'), [
          `${pki} 750 root etcd`,
          `${pki}/ca.key 600 root root`,
          `${pki}/client.key 600 root root`,
          `${pki}/peer.key 600 etcd etcd`,
        ]);
      }
    },
  );

  if (web === 'nginx')
    s('a silent failure of s3: ≤ 1 % of requests through the others fail, none after 5 s', (ctx) =>
      silentFailureCheck(ctx.addresses, web),
    );

  // Runs after the silent-failure check: a healed server's etcd member may take a while to
  // follow the leader again (seen: up to ~20 s), so healthy within 60 s.
  s('status.ts: every server healthy, one leader (within 60 s of the heal)', async () => {
    const end = Date.now() + 60_000;
    let r = runCommand(
      'scripts/status.ts',
      ['--servers', serversFile(3), '--env', env(), '--json'],
      60_000,
    );
    while (r.status !== 0 && Date.now() < end) {
      await sleep(2000);
      r = runCommand(
        'scripts/status.ts',
        ['--servers', serversFile(3), '--env', env(), '--json'],
        60_000,
      );
    }
    assert.is(r.status, 0, r.stdout + r.stderr);
    const rows = (JSON.parse(r.stdout) as { servers: { leader: boolean }[] }).servers;
    assert.is(rows.length, 3);
    assert.is(rows.filter((x) => x.leader).length, 1);
  });

  s('a second provision reports 0 changes', (ctx) => {
    const res = provision(ctx.args);
    assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
    assert.equal(changeList(res), []);
  });

  return s;
}

/** Polls `check` until it holds for every server, or `ms` pass; returns the seconds it took. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return (Date.now() - started) / 1000;
    await sleep(250);
  }
  return Infinity;
}
