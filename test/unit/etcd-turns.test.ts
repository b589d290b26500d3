import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { etcd, startPhases } from '../../src/components/etcd.ts';
import type { ClusterServer, HostContext } from '../../src/components/types.ts';
import type { EtcdCluster } from '../../src/etcd/cluster.ts';
import type { Transport } from '../../src/ssh/transport.ts';

// Every member reports a pending restart, so each wants the cluster-wide turn.
const transport = {
  run: () => Promise.resolve({ stdout: 'yes\n', stderr: '', code: 0 }),
} as unknown as Transport; // only run() is used by the start phases

const server = (n: number) =>
  ({
    hostname: `s${n}`,
    address: `10.0.0.${n}`,
    server: { spec: `10.0.0.${n}`, host: `10.0.0.${n}` },
    target: { name: `10.0.0.${n}`, host: `10.0.0.${n}` },
  }) as unknown as ClusterServer; // the start phases read only these fields

const servers = [server(1), server(2)];
const cluster: EtcdCluster = {
  plan: {
    roles: new Map(servers.map((s) => [s.hostname, { kind: 'member' } as const])),
    remove: [],
    initialCluster: '',
    members: [],
    voters: [],
  },
  ca: undefined,
  healthy: undefined,
  token: 't',
};
const ctx = (self: ClusterServer): HostContext =>
  ({ servers, self, transport, dryRun: false, startTogether: new Set() }) as unknown as HostContext;

const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

test('members take turns to restart; a host that fails mid-turn releases it when it ends', async () => {
  const [a, b] = servers.map((s) => ctx(s)) as [HostContext, HostContext];
  const [aTake] = startPhases(a, cluster);
  const [bTake, bEnd] = startPhases(b, cluster);
  await aTake?.();
  let bHasTurn = false;
  const waiting = bTake?.().then(() => (bHasTurn = true));
  await tick();
  assert.not.ok(bHasTurn, 'b waits while a holds the turn');
  // a failed before its phase that ends the turn: the provision ends the host instead.
  etcd.hostDone?.(a);
  await Promise.race([waiting, tick(1000)]);
  assert.ok(bHasTurn, 'b got the turn once a ended');
  await bEnd?.();
});

test.run();
