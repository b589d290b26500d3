/** Checks on the settings file beyond its values: keys set twice, files that must be readable. */
import { accessSync, constants, statSync } from 'node:fs';
import { clip } from './clip.ts';

/** Why `path` cannot be read as a regular file, or undefined when it can. */
export function readableFileProblem(path: string): string | undefined {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? 'not found'
      : `cannot be read (${code ?? 'error'})`;
  }
  if (!isFile) {
    return statSync(path).isDirectory() ? 'is a directory, not a file' : 'is not a regular file';
  }
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): check its permissions`;
  }
  return undefined;
}

// dotenv's own line pattern (dotenv 17/18), so keys are found exactly where dotenv finds them
// (a quoted value may span lines). `d`: the key's offset gives its line.
const DOTENV_LINE =
  /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/dgm;

/**
 * Keys set more than once (dotenv silently keeps the last): one problem per key, naming the
 * file and every line that sets it. Pure.
 */
export function duplicateKeys(text: string, file: string): string[] {
  const src = text.replace(/\r\n?/g, '\n');
  const lines = new Map<string, number[]>();
  for (const m of src.matchAll(DOTENV_LINE)) {
    const key = m[1];
    const at = m.indices?.[1]?.[0];
    if (key === undefined || at === undefined) continue;
    const line = src.slice(0, at).split('\n').length;
    lines.set(key, [...(lines.get(key) ?? []), line]);
  }
  const problems: string[] = [];
  for (const [key, at] of lines) {
    if (at.length < 2) continue;
    const list = `${at.slice(0, -1).join(', ')} and ${at.at(-1)}`;
    const times = at.length === 2 ? 'twice' : `${at.length} times`;
    problems.push(`${file}: ${clip(key)} is set ${times}, on lines ${list}: keep one`);
  }
  return problems;
}

/**
 * Lines that dotenv skips without a word: neither `KEY=value` (nor part of a quoted value that
 * spans lines), a `#` comment or blank. One problem per line, naming the file and the line. The
 * line itself is not quoted back: it may hold a secret that, not being a value, was never
 * registered for redaction. A first word that is a setting (`known`) is named. Pure.
 */
export function malformedLines(
  text: string,
  file: string,
  known: (key: string) => boolean,
): string[] {
  const src = text.replace(/\r\n?/g, '\n');
  const lines = src.split('\n');
  const covered = new Set<number>();
  const lineAt = (offset: number): number => src.slice(0, offset).split('\n').length;
  for (const m of src.matchAll(DOTENV_LINE)) {
    const from = m.indices?.[1]?.[0];
    if (from === undefined) continue;
    const to = m.index + m[0].trimEnd().length;
    for (let l = lineAt(from); l <= lineAt(Math.max(from, to - 1)); l++) covered.add(l);
  }
  const problems: string[] = [];
  lines.forEach((raw, i) => {
    const content = raw.trim();
    if (content === '' || content.startsWith('#') || covered.has(i + 1)) return;
    const word = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)/.exec(content)?.[1];
    problems.push(
      word !== undefined && known(word)
        ? `${file}:${i + 1}: ${word} has no "=": write it as ${word}=value`
        : `${file}:${i + 1}: not a KEY=value line (the line is not shown: it may hold a secret): write it as KEY=value, or start it with # to make it a comment`,
    );
  });
  return problems;
}
