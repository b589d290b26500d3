/**
 * The one place a command's errors are printed and turned into an exit code.
 * Commands call `main(async () => ...)` and return their own exit code (0 by default).
 */
import { $ } from 'zx';
import { ShoestringError } from '../errors.ts';
import { redact } from '../redact.ts';
import { err, exitQuietlyOnBrokenPipe, paint } from './output.ts';

/** zx echoes commands under `$.verbose`; route that through redaction, and keep it quiet by default. */
export function quietZx(): void {
  $.verbose = false;
  $.quiet = true;
  $.log = (entry) => {
    if (!process.env['DEBUG']) return;
    const text =
      entry.kind === 'cmd' ? `$ ${entry.cmd}` : 'data' in entry ? String(entry.data) : entry.kind;
    process.stderr.write(redact(text) + '\n');
  };
}

export function formatError(e: unknown): string {
  if (e instanceof ShoestringError) {
    const lines = [`${paint('red', '✗')} ${e.message}`];
    if (e.hint) lines.push(`  hint: ${e.hint}`);
    if (process.env['DEBUG'] && e.stack) lines.push(e.stack);
    return lines.join('\n');
  }
  const message =
    e instanceof Error ? (process.env['DEBUG'] ? (e.stack ?? e.message) : e.message) : String(e);
  return `${paint('red', '✗')} unexpected error: ${message}\n  hint: run again with DEBUG=1 for details`;
}

export function main(fn: () => Promise<number | void>): void {
  exitQuietlyOnBrokenPipe();
  quietZx();
  fn().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (e: unknown) => {
      err(formatError(e));
      process.exitCode = e instanceof ShoestringError ? e.exitCode : 1;
    },
  );
}

/**
 * Ctrl-C (SIGINT) asks the run to stop after the phases that are running (their scripts are not
 * cut half-way; turns and locks are released); a second Ctrl-C stops at once.
 */
export function stopOnInterrupt(): { readonly requested: boolean } {
  const stop = { requested: false };
  process.on('SIGINT', () => {
    if (stop.requested) {
      err('second Ctrl-C: stopping now; the next run finishes what was left');
      process.exit(130);
    }
    stop.requested = true;
    err('Ctrl-C: stopping after the running phases (Ctrl-C again to stop at once)');
  });
  return stop;
}
