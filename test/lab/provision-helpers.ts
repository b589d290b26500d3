/** Helpers for lab suites: boot the lab, run the commands as a user would, read their JSON events. */
import { spawnSync } from 'node:child_process';

export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCommand(
  script: string,
  args: readonly string[],
  timeoutMs = 20 * 60_000,
  env: Record<string, string> = {},
): CommandResult {
  const res = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, CI: 'true', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** `scripts/lab.ts up N`; throws with its output when it fails. */
export function labUp(n: number): void {
  const res = runCommand('scripts/lab.ts', ['up', String(n)]);
  if (res.status !== 0) throw new Error(`lab up ${n} failed:\n${res.stdout}\n${res.stderr}`);
}

export interface JsonEvent {
  readonly type: string;
  readonly [key: string]: unknown;
}

export function events(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent);
}

export interface Totals {
  readonly changed: number;
  readonly failed: number;
  readonly hosts: number;
}

/** Totals from the `done` event of a `--json` provision. */
export function totals(stdout: string): Totals {
  const done = events(stdout).find((e) => e.type === 'done');
  if (!done) throw new Error(`no done event in:\n${stdout}`);
  const hosts = done['hosts'] as { changed: number; failed: boolean }[];
  return {
    changed: hosts.reduce((a, h) => a + h.changed, 0),
    failed: hosts.filter((h) => h.failed).length,
    hosts: hosts.length,
  };
}
