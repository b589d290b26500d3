/** Output helpers: everything printed goes through redact(). */
import { isAbsolute, relative } from 'node:path';
import { redact, redactedJson } from '../redact.ts';

/** A path as messages show it: relative when below the current directory, else absolute. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export const isTTY = (): boolean => Boolean(process.stdout.isTTY) && !process.env['CI'];

const colours = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof colours;

export function paint(colour: Colour, text: string): string {
  if (!isTTY() || process.env['NO_COLOR']) return text;
  return `\x1b[${colours[colour]}m${text}\x1b[0m`;
}

let pipeGuarded = false;

/**
 * A reader that went away (`| head`, a pager that quit) ends the command quietly, with the exit
 * code set so far (0 unless something failed already), instead of an EPIPE stack trace. Installed
 * once by `main()` for every command.
 */
export function exitQuietlyOnBrokenPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit();
      throw e;
    });
  }
}

export function out(line: string): void {
  process.stdout.write(redact(line) + '\n');
}

/** One JSON document on stdout, its strings redacted before escaping (see redactedJson). */
export function outJson(value: unknown, space?: number): void {
  process.stdout.write(redactedJson(value, space) + '\n');
}

export function err(line: string): void {
  process.stderr.write(redact(line) + '\n');
}

/** `host: message` for every line of a (possibly multi-line) message. */
export function hostLines(host: string, text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `${host}: ${l}`);
}
