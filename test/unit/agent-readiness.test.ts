/**
 * Readiness: a server whose database proxy has no member up leaves the mesh. The pure verdict
 * from HAProxy's `show stat`, the same asked over a real unix socket, and the mesh watch that
 * stops answering pings while not ready (on loopback).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MESH_PORT, MeshWatch, ownNodesCovered } from '../../src/agent/mesh.ts';
import { localReadiness, readinessFromStat } from '../../src/agent/readiness.ts';

const HEAD =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight';
const row = (px: string, sv: string, status: string): string =>
  `${px},${sv},0,0,0,0,,0,0,0,,0,,0,0,0,0,${status},1`;

test('ready while one database member is up (also one coming up or going down)', () => {
  const stat = (statuses: string[]): string =>
    [
      HEAD,
      row('database', 'FRONTEND', 'OPEN'),
      ...statuses.map((s, i) => row('database', `s${i + 1}`, s)),
      row('database', 'BACKEND', 'UP'),
    ].join('\n');
  assert.equal(readinessFromStat(stat(['DOWN', 'UP', 'DOWN'])), { ready: true });
  assert.equal(readinessFromStat(stat(['DOWN', 'UP 1/2', 'DOWN'])), { ready: true });
  assert.equal(readinessFromStat(stat(['DOWN', 'DOWN', 'no check'])), {
    ready: false,
    why: 'the database proxy has no member up (3 down)',
  });
  assert.equal(readinessFromStat(stat(['DOWN 1/2'])).ready, false);
});

test('no database proxy, another proxy only, or garbage: ready (nothing to wait for)', () => {
  assert.equal(readinessFromStat(''), { ready: true });
  assert.equal(readinessFromStat('garbage\nmore'), { ready: true });
  assert.equal(readinessFromStat([HEAD, row('other', 's1', 'DOWN')].join('\n')), { ready: true });
});

test('asked over a unix socket as HAProxy answers; no socket: ready', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'readiness-'));
  const path = join(dir, 'admin.sock');
  let asked = '';
  const server = createServer((c) =>
    c.on('data', (d) => {
      asked += d.toString();
      c.end([HEAD, row('database', 's1', 'DOWN'), row('database', 's2', 'DOWN')].join('\n'));
    }),
  );
  await new Promise<void>((r) => server.listen(path, r));
  try {
    assert.equal(await localReadiness(path), {
      ready: false,
      why: 'the database proxy has no member up (2 down)',
    });
    assert.is(asked, 'show stat\n');
    assert.equal(await localReadiness(join(dir, 'absent.sock')), { ready: true });
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the mesh watch answers pings only while ready', async () => {
  const lines: string[] = [];
  const mesh = new MeshWatch({
    self: '127.0.0.1',
    statsPort: 1,
    subscriptionPort: 1,
    log: (l) => lines.push(l),
  });
  await mesh.start();
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const pongs: string[] = [];
  probe.on('message', (m) => pongs.push(m.toString()));
  const ping = async (n: number): Promise<void> => {
    probe.send(`ping ${n}`, MESH_PORT, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 150));
  };
  try {
    await ping(1);
    mesh.ready = false;
    await ping(2);
    mesh.ready = true;
    await ping(3);
    assert.equal(pongs, ['pong 1', 'pong 3']);
  } finally {
    probe.close();
    mesh.stop();
  }
});

test('not ready: its own nodes leave only for apps another live server serves', () => {
  const nodes = [
    { key: 'app1', node: '10.88.0.2:3100', live: true },
    { key: 'app1', node: '10.88.0.1:3100', live: true },
    { key: 'app2', node: '10.88.0.2:3101', live: true },
    { key: 'app2', node: '10.88.0.3:3101', live: true },
    { key: 'app3', node: '10.88.0.2:3102', live: true },
    { key: 'app4', node: '10.88.0.2:3103', live: true },
    { key: 'app4', node: '10.88.0.1:3103', live: false },
  ];
  // app1 has s1's node, app2 only a silent server's, app3 none but its own, app4 only a node
  // the router has marked failed (it will not pick it again).
  assert.equal(ownNodesCovered(nodes, '10.88.0.2', new Set(['10.88.0.3'])), [
    { key: 'app1', node: '10.88.0.2:3100', live: true },
  ]);
  assert.equal(
    ownNodesCovered(nodes, '10.88.0.2', new Set()).map((n) => n.key),
    ['app1', 'app2'],
  );
  assert.equal(ownNodesCovered([], '10.88.0.2', new Set()), []);
});

test.run();
