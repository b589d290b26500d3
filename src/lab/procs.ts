/**
 * Processes the lab starts: detached daemons with pid files, liveness checks that guard against
 * pid reuse, and signals sent only to pids the lab recorded or can prove are its own.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function cmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s) => s !== '');
  } catch {
    return undefined;
  }
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Alive (not a zombie) and, when `expect` is given, its command line contains it. */
export function isAlive(pid: number | undefined, expect?: string): pid is number {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 1) return false;
  const state = procState(pid);
  if (state === undefined || state === 'Z' || state === 'X') return false;
  if (expect === undefined) return true;
  return (cmdline(pid) ?? []).some((a) => a.includes(expect));
}

export function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function writePid(file: string, pid: number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${pid}\n`);
}

/** Direct children of a process. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Seconds the process has been running. */
export function uptimeSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const sysUptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Math.max(0, Math.round(sysUptime - startTicks / 100));
  } catch {
    return undefined;
  }
}

export interface DaemonSpec {
  argv: string[];
  pidFile: string;
  logFile: string;
  env?: Record<string, string>;
  cwd?: string;
}

/** Starts a process in its own session, detached from us, output to its log; records its pid. */
export function startDaemon(spec: DaemonSpec): number {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  const [bin, ...args] = spec.argv;
  if (bin === undefined) throw new Error('startDaemon: empty argv');
  const child = spawn(bin, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...spec.env },
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${bin}`);
  child.unref();
  writePid(spec.pidFile, child.pid);
  return child.pid;
}

/** Sends a signal if the process is alive (and is what we expect); true if it was sent. */
export function signal(
  pid: number | undefined,
  sig: NodeJS.Signals | number,
  expect?: string,
): boolean {
  if (!isAlive(pid, expect)) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (pids.every((p) => !isAlive(p))) return true;
    await sleep(100);
  }
  return pids.every((p) => !isAlive(p));
}

/** Every process whose command line mentions `marker` (a path only the lab uses), except us. */
export function processesMentioning(marker: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || pid === process.ppid) continue;
    const args = cmdline(pid);
    if (args?.some((a) => a.includes(marker)) && isAlive(pid)) out.push(pid);
  }
  return out;
}

/** Every process in the network namespace bound at `nsPath` (e.g. a container's processes). */
export function processesInNetns(nsPath: string): number[] {
  let target: string;
  try {
    target = `net:[${statSync(nsPath).ino}]`;
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === target && isAlive(pid)) out.push(pid);
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
}

/**
 * Waits (bounded) until dead processes have also left the process table: their new parent (init)
 * reaps them, on some hosts only after a while. Purely cosmetic, so it never fails.
 */
export async function waitReaped(pids: readonly number[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && pids.some((p) => existsSync(`/proc/${p}`))) await sleep(100);
}
