/** Applying a rename: find the files that mention the old domain, rewrite each in place. */
import {
  chmodSync,
  chownSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { resolve } from 'node:path';
import { candidateFiles } from './files.ts';
import { isBinary, replaceDomain } from './replace.ts';

export interface RenameChange {
  /** As candidateFiles names it (relative to the root). */
  readonly file: string;
  readonly path: string;
  readonly text: string;
  readonly count: number;
}

/** The text files under `root` (and `envFile`) that mention `from`, with `to` in its place. */
export function planRename(
  root: string,
  envFile: string,
  from: string,
  to: string,
): RenameChange[] {
  const changes: RenameChange[] = [];
  for (const file of candidateFiles(root, envFile)) {
    const path = resolve(root, file);
    const buffer = readFileSync(path);
    if (isBinary(buffer)) continue;
    const { text, count } = replaceDomain(buffer.toString('utf8'), from, to);
    if (count > 0) changes.push({ file, path, text, count });
  }
  return changes;
}

/**
 * Replaces a file's content atomically (write beside it, then rename over it), keeping its
 * mode (a 0600 .env stays 0600) and, where allowed, its owner. The new file is 0600 until then.
 */
export function rewriteFile(path: string, text: string): void {
  const before = statSync(path);
  const tmp = `${path}.rename-domain.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, before.mode & 0o7777);
    try {
      chownSync(tmp, before.uid, before.gid);
    } catch {
      // Only root may give a file away; the file stays the runner's.
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
