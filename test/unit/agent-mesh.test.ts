/**
 * The mesh watch's pure parts (uWSGI's (un)subscription packet, the router's nodes, silence), and
 * its answers on a loopback address before and after it leaves.
 */
import { createSocket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  drainMs,
  MESH_PORT,
  MeshWatch,
  PINGS_PER_SECOND,
  pingedAt,
  pingPlan,
  routerNodes,
  silentPeers,
  subscriptionPacket,
} from '../../src/agent/mesh.ts';

test('unsubscribe packet: modifier1 224, body size, modifier2 1, then key and address', () => {
  const p = subscriptionPacket('app1.example.test', '10.88.0.3:3100', true);
  assert.is(p.readUInt8(0), 224);
  assert.is(p.readUInt16LE(1), p.length - 4);
  assert.is(p.readUInt8(3), 1);
  // Body: [len16 "key"][len16 value][len16 "address"][len16 value], little endian.
  let o = 4;
  const read = (): string => {
    const n = p.readUInt16LE(o);
    const s = p.subarray(o + 2, o + 2 + n).toString();
    o += 2 + n;
    return s;
  };
  assert.equal(
    [read(), read(), read(), read()],
    ['key', 'app1.example.test', 'address', '10.88.0.3:3100'],
  );
  assert.is(o, p.length);
  assert.is(subscriptionPacket('k', 'a:1', false).readUInt8(3), 0);
});

test("router nodes from the fastrouter's stats; garbage gives none", () => {
  const stats = JSON.stringify({
    subscriptions: [
      {
        key: 'app1.example.test',
        nodes: [
          { name: '10.88.0.1:3100', death_mark: 0 },
          { name: '10.88.0.2:3100', death_mark: 1 },
        ],
      },
      { key: 'app2.example.test', nodes: [{ name: '10.88.0.2:3101' }] },
      { key: 'empty', nodes: [] },
    ],
  });
  assert.equal(routerNodes(stats), [
    { key: 'app1.example.test', node: '10.88.0.1:3100', live: true },
    { key: 'app1.example.test', node: '10.88.0.2:3100', live: false },
    { key: 'app2.example.test', node: '10.88.0.2:3101', live: true },
  ]);
  assert.equal(routerNodes(''), []);
  assert.equal(routerNodes('{"subscriptions":null}'), []);
});

test('silent: not heard for more than 300 ms; a peer never heard is not judged', () => {
  const heard = new Map([
    ['10.88.0.2', 1000],
    ['10.88.0.3', 1500],
  ]);
  assert.equal(silentPeers(heard, 1300), []);
  assert.equal(silentPeers(heard, 1301), ['10.88.0.2']);
  assert.equal(silentPeers(heard, 1801), ['10.88.0.2', '10.88.0.3']);
});

test('pings: up to 20 peers each at every tick of 100 ms, silent after 300 ms, as always', () => {
  for (let n = 0; n <= 20; n++) {
    const plan = pingPlan(n);
    assert.equal(plan, { tickMs: 100, ticksPerPing: 1, silentAfterMs: 300 }, `${n} peers`);
    const peers = Array.from({ length: n }, (_, i) => `10.88.0.${i + 2}`);
    for (let tick = 0; tick < 3; tick++) assert.equal(pingedAt(peers, tick, plan), peers);
  }
});

test('pings beyond 20 peers: at most 200 a second, each peer once per interval, silent after three', () => {
  assert.equal(pingPlan(99), { tickMs: 100, ticksPerPing: 5, silentAfterMs: 1500 });
  for (const n of [21, 40, 99, 100, 250, 499]) {
    const plan = pingPlan(n);
    const peers = Array.from({ length: n }, (_, i) => `p${i}`);
    const pinged = new Map<string, number>();
    let most = 0;
    for (let tick = 0; tick < plan.ticksPerPing; tick++) {
      const now = pingedAt(peers, tick, plan);
      most = Math.max(most, now.length);
      for (const p of now) pinged.set(p, (pinged.get(p) ?? 0) + 1);
    }
    // Every peer exactly once per interval; the busiest tick within the budget.
    assert.is(pinged.size, n);
    assert.ok([...pinged.values()].every((c) => c === 1));
    assert.ok(most * (1000 / plan.tickMs) <= PINGS_PER_SECOND + 1000 / plan.tickMs, `${n}`);
    assert.ok((n * 1000) / (plan.tickMs * plan.ticksPerPing) <= PINGS_PER_SECOND, `${n}`);
    assert.is(plan.silentAfterMs, 3 * plan.tickMs * plan.ticksPerPing);
  }
});

test('leaving: no more pongs, and a drain of the silent time plus a second', async () => {
  assert.is(drainMs(2), 1300);
  assert.is(drainMs(99), 2500);
  // A watch on a loopback address of its own, no peers, no fastrouter: it answers pings until it leaves.
  const self = '127.0.0.77';
  const mesh = new MeshWatch({ self, statsPort: 1, subscriptionPort: 1, log: () => undefined });
  await mesh.start();
  const client = createSocket('udp4');
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const answered = (): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        client.removeAllListeners('message');
        resolve(false);
      }, 300);
      client.once('message', (m) => {
        clearTimeout(timer);
        resolve(m.toString() === 'pong 1');
      });
      client.send('ping 1', MESH_PORT, self);
    });
  try {
    assert.ok(await answered(), 'a pong before leaving');
    assert.is(mesh.leave(), 1300);
    assert.not.ok(await answered(), 'no pong once leaving');
  } finally {
    client.close();
    mesh.stop();
  }
});

test.run();
