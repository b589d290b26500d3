#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: what the lab costs this machine while it does nothing. Over --seconds, the share of
 * all cores busy (from the `cpu` line of /proc/stat: user, nice, system, irq, softirq against
 * idle and iowait) and the processes started per second (its `processes` counter). This machine
 * sees the lab servers' processes, so it is the whole lab's cost. Uses the lab as it is.
 * Run: node --import tsx bench/idle-cpu.ts [--seconds 10] [--rounds 2]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
  },
});

interface Sample {
  readonly busy: number;
  readonly idle: number;
  readonly processes: number;
}

function sample(): Sample {
  const stat = readFileSync('/proc/stat', 'utf8');
  const cpu = (/^cpu (.*)$/m.exec(stat)?.[1] ?? '').trim().split(/\s+/).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0] = cpu;
  return {
    busy: user + nice + system + irq + softirq,
    idle: idle + iowait,
    processes: Number(/^processes (\d+)$/m.exec(stat)?.[1] ?? 0),
  };
}

const seconds = Number(values.seconds);
for (let round = 0; round < Number(values.rounds); round++) {
  const a = sample();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = sample();
  const busy = b.busy - a.busy;
  const share = (100 * busy) / (busy + b.idle - a.idle);
  const forks = (b.processes - a.processes) / seconds;
  console.log(
    `busy ${share.toFixed(0)} % of all cores, ${forks.toFixed(0)} processes started a second`,
  );
}
