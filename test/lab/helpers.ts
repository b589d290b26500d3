/** Shared by the lab suites: a quiet zx, and ssh into a lab server returning exit code + output. */
import { spawn } from 'node:child_process';
import { quietZx } from '../../src/cli/main.ts';
import { sshRun } from '../../src/lab/ssh.ts';

quietZx();

export interface Remote {
  code: number;
  out: string;
}

export async function on(address: string, command: string): Promise<Remote> {
  const r = await sshRun(address, command);
  return { code: r.exitCode ?? -1, out: (r.stdout + r.stderr).trim() };
}

export const log = (line: string): void => {
  if (process.env['DEBUG']) console.log(line);
};

/**
 * `scripts/lab.ts` in the background: a synchronous command would stop a request loop for its
 * second and then let the held-back requests out in one burst, right at the partition.
 */
export function labAsync(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/lab.ts', ...args], {
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`lab ${args.join(' ')}: exit ${code}`)),
    );
  });
}

/**
 * `node --import tsx <script> <args>` in the background (a synchronous spawn would stall the
 * request loops of a suite), its stdout and stderr together.
 */
export function runAsync(
  script: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      env: { ...process.env, CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}
