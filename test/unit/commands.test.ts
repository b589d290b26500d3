import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');

/** The executable commands (scripts/destroy.ts gets the same two lines with its rewrite). */
const COMMANDS = [
  'provision.ts',
  'rename-domain.ts',
  'am-i-the-leader.ts',
  'scripts/demo.ts',
  'scripts/destroy.ts',
  'scripts/lab.ts',
  'scripts/status.ts',
  'scripts/tls.ts',
  'scripts/backup.ts',
  'scripts/watch-curl.ts',
];

test('each command starts with the launcher: sh runs node with tsx from the checkout', () => {
  for (const c of COMMANDS) {
    const up = c.startsWith('scripts/') ? '/..' : '';
    const [shebang, launcher] = readFileSync(join(root, c), 'utf8').split('\n');
    assert.is(shebang, '#!/bin/sh', c);
    assert.is(
      launcher,
      `//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")${up}/node_modules/tsx/dist/loader.mjs" "$0" "$@"`,
      c,
    );
    assert.ok((statSync(join(root, c)).mode & 0o111) !== 0, `${c} is not executable`);
  }
});

function run(file: string, cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, ['--help'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('commands run from any directory (cwd /): --help exits 0', async () => {
  // One at the top, one in scripts/ (the launcher lines above are the same for the others).
  const started = ['provision.ts', 'scripts/status.ts'];
  const results = await Promise.all(started.map((c) => run(join(root, c), '/')));
  results.forEach((r, i) => {
    assert.is(r.code, 0, `${started[i]}: ${r.out}`);
    assert.match(r.out, /^Usage: /, started[i]);
  });
});

test.run();
