/** The first `n` lab servers in a servers file of their own (for benchmarks). */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../src/lab/paths.ts';

export function labServersFile(n: number, name: string): string {
  const lines = readFileSync(join(repoRoot, '.lab/servers.txt'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .slice(0, n);
  const file = join(tmpdir(), `${name}-${n}.txt`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
