/**
 * The HA web stack on 3 lab servers with WEB_SERVER=apache (the default): apps through every
 * front, the full mesh, etcd and its leader, /healthz, the cluster CA kept, 0 changes on a second
 * run. A crashed server (the others serve on) is the chaos suite's, under load and with stricter
 * goals; `lab kill` and `start` themselves are the lab suite's.
 */
import * as assert from 'uvu/assert';
import { on } from './helpers.ts';
import { changeList, provision } from './stack-checks.ts';
import { stackSuite } from './stack-suite.ts';

const s = stackSuite('stack (apache)', () => '.lab/.env', 'apache');

s(
  'the cluster CA is kept: wiped from every disk, provision restores the same one from etcd',
  async (ctx) => {
    const sum =
      'sha256sum /etc/shoestring/etcd-pki/ca.crt /etc/shoestring/etcd-pki/peer.crt | cut -c1-64';
    const before = await Promise.all(ctx.addresses.map((a) => on(a, sum)));
    for (const a of ctx.addresses)
      await on(a, 'rm -f /etc/shoestring/etcd-pki/ca.crt /etc/shoestring/etcd-pki/ca.key');
    const res = provision(ctx.args);
    assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
    const after = await Promise.all(ctx.addresses.map((a) => on(a, sum)));
    // Same CA, and the peer certificates it signed stay valid (not re-issued).
    assert.equal(
      after.map((r) => r.out),
      before.map((r) => r.out),
    );
    assert.is(new Set(after.map((r) => r.out.split('\n')[0])).size, 1);
    // Only the CA files changed. (The certificate steps are listed too: planned before the CA
    // was back on disk, their checks passed when applied, so nothing was re-issued: see the sums.)
    assert.ok(
      changeList(res).every((c) =>
        /etcd-pki\/ca\.(crt|key)|Issue the etcd peer certificate|Issue root's etcd client certificate/.test(
          c,
        ),
      ),
      changeList(res).join('\n'),
    );
  },
);

s.run();
