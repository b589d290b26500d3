#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: what the agents cost while the cluster is idle. Sums the CPU time (user + system,
 * from /proc/<pid>/stat on this machine, which sees the lab servers' processes) of every
 * `agent.cjs` and every `wireguard-go` process over --seconds, and prints it as a share of one
 * core. Uses the lab as it is (provisioned).
 * Run: node --import tsx bench/agent-cpu.ts [--seconds 30]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' } } });
const TICKS = 100; // USER_HZ on Linux

function sample(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const kind = cmd.includes('agent.cjs')
        ? 'agent'
        : cmd.startsWith('wireguard-go')
          ? 'wireguard-go'
          : '';
      if (!kind) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      out.set(`${kind} ${pid}`, ticks);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const seconds = Number(values.seconds);
const a = sample();
await new Promise((r) => setTimeout(r, seconds * 1000));
const b = sample();
const total = { agent: 0, 'wireguard-go': 0, agents: 0 } as Record<string, number>;
for (const [k, t] of b) {
  const before = a.get(k);
  if (before === undefined) continue;
  const kind = k.split(' ')[0] ?? '';
  total[kind] = (total[kind] ?? 0) + (t - before) / TICKS;
  if (kind === 'agent') total['agents'] = (total['agents'] ?? 0) + 1;
}
const share = (s: number | undefined): string =>
  `${(((s ?? 0) / seconds) * 100).toFixed(1)} % of a core`;
console.log(
  `${total['agents']} agents: ${share(total['agent'])}; wireguard-go (all servers): ${share(total['wireguard-go'])}; over ${seconds} s`,
);
