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
