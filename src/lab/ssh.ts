/** SSH from the host into lab servers, with the lab's key and known_hosts; bridge-checked. */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { $, type ProcessOutput } from 'zx';
import { ShoestringError } from '../errors.ts';
import { assertBridge } from './network.ts';
import { paths } from './paths.ts';
import { portOpen } from './wait.ts';

export function sshArgs(address: string, connectTimeout = 5): string[] {
  return [
    '-i',
    paths.key,
    '-o',
    `UserKnownHostsFile=${paths.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${connectTimeout}`,
    '-o',
    'LogLevel=ERROR',
    `root@${address}`,
  ];
}

/** Runs a remote shell command; returns its output whatever the exit code. */
export async function sshRun(
  address: string,
  command: string,
  input?: string,
): Promise<ProcessOutput> {
  await assertBridge(address);
  const p = $`ssh ${sshArgs(address)} ${command}`.nothrow();
  if (input !== undefined) {
    p.stdin.write(input);
    p.stdin.end();
  }
  return p;
}

/** Interactive (or not) ssh with our terminal; resolves with ssh's exit code. */
export async function sshInteractive(address: string, command: string[]): Promise<number> {
  await assertBridge(address);
  const tty = process.stdin.isTTY && command.length === 0 ? ['-t'] : [];
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...tty, ...sshArgs(address), ...command], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 255));
  });
}

/** Waits until the server accepts our key over SSH. */
export async function waitForSsh(name: string, address: string, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    await assertBridge(address);
    if (await portOpen(address, 22, 1000)) {
      const r = await $`ssh ${sshArgs(address, 3)} true`.nothrow();
      if (r.exitCode === 0) return;
      last = r.stderr.trim();
    }
    await sleep(250);
  }
  throw new ShoestringError(
    `${name} (${address}): no SSH after ${timeoutMs / 1000} s${last ? ` (${last})` : ''}`,
    {
      hint: `see ${paths.logs}/${name}.log`,
    },
  );
}
