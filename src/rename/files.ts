/** The files rename-domain may touch: settings, apps, templates and the README, nothing else. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SKIP_DIRS = new Set([
  '.git',
  'node_modules',
  '.lab',
  '.shoestring',
  '__pycache__',
  'venv',
  '.venv',
]);
const MAX_BYTES = 1024 * 1024;

function walk(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(path, out);
    } else if (entry.isFile() && statSync(path).size <= MAX_BYTES) {
      out.push(path);
    }
  }
}

/** Candidate files under `root`: the env file, apps/, templates/ and README.md. */
export function candidateFiles(root: string, envFile: string): string[] {
  const out: string[] = [];
  for (const f of [envFile, join(root, 'README.md')])
    if (existsSync(f) && statSync(f).isFile()) out.push(f);
  walk(join(root, 'apps'), out);
  walk(join(root, 'templates'), out);
  return [...new Set(out)].map((p) => relative(root, p) || p).sort();
}
