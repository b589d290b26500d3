/** Shared by the lab suites: a quiet zx, and ssh into a lab server returning exit code + output. */
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
