#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: what the agent's mesh watch costs one server in a cluster of many, on this
 * machine's loopback (no servers, no WireGuard). This process runs the agent's MeshWatch on
 * 127.0.0.1 with --peers peers at 127.0.0.2, 127.0.0.3, ...; a second process plays every peer:
 * it answers each ping and pings the agent as each peer's own watch would. Prints the agent's
 * CPU time as a share of one core, and the datagrams it sent and received per second.
 * Run: node --import tsx bench/mesh-load.ts [--peers 99] [--seconds 20]
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MESH_PORT, MeshWatch, pingPlan } from '../src/agent/mesh.ts';

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '99' },
    seconds: { type: 'string', default: '20' },
    // Internal: the process playing the peers.
    'play-peers': { type: 'boolean', default: false },
  },
});
const peers = Number(values.peers);
const seconds = Number(values.seconds);
const addresses = Array.from(
  { length: peers },
  (_, i) => `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`,
);
const AGENT = '127.0.0.1';

if (values['play-peers']) {
  // Each peer: answers pings, and pings the agent as often as its own watch would (it has as
  // many peers as the agent). Counts what the agent sent it and what it sent the agent.
  const plan = pingPlan(peers);
  const sockets: Socket[] = [];
  const count = { fromAgent: 0, toAgent: 0 };
  for (const address of addresses) {
    const s = createSocket('udp4');
    s.on('message', (msg, from) => {
      count.fromAgent++;
      const text = msg.toString();
      if (text.startsWith('ping ')) {
        s.send(`pong ${text.slice(5)}`, from.port, from.address);
        count.toAgent++;
      }
    });
    await new Promise<void>((resolve) => s.bind(MESH_PORT, address, resolve));
    sockets.push(s);
  }
  let tick = 0;
  setInterval(() => {
    const now = Date.now();
    sockets.forEach((s, i) => {
      if ((tick + i) % plan.ticksPerPing === 0) {
        s.send(`ping ${now}`, MESH_PORT, AGENT);
        count.toAgent++;
      }
    });
    tick++;
  }, plan.tickMs);
  process.on('message', () => process.send?.({ ...count }));
  process.send?.('ready');
} else {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--play-peers', '--peers', String(peers)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  const counts = () =>
    new Promise<{ fromAgent: number; toAgent: number }>((resolve) => {
      child.once('message', (m) => resolve(m as { fromAgent: number; toAgent: number }));
      child.send('count');
    });
  const watch = new MeshWatch({
    self: AGENT,
    statsPort: 1, // never asked: no peer goes silent
    subscriptionPort: 1,
    log: (line) => console.log(line),
  });
  await watch.start();
  watch.peers = addresses;
  // Settle, then measure.
  await new Promise((r) => setTimeout(r, 2000));
  const c0 = await counts();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  const c1 = await counts();
  const sent = c1.fromAgent - c0.fromAgent;
  const received = c1.toAgent - c0.toAgent;
  watch.stop();
  child.kill();
  const plan = pingPlan(peers);
  console.log(
    `${peers} peers, each pinged every ${plan.tickMs * plan.ticksPerPing} ms (silent after ${plan.silentAfterMs} ms): ` +
      `agent CPU ${(((cpu.user + cpu.system) / 1e6 / elapsed) * 100).toFixed(1)} % of a core; ` +
      `${(sent / elapsed).toFixed(0)} datagrams/s sent, ${(received / elapsed).toFixed(0)} received; over ${elapsed.toFixed(0)} s`,
  );
}
