import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');

/** Runs node code (as a module, with tsx) whose stdout we close after its first chunk. */
function closeEarly(
  code: string,
): Promise<{ status: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    child.on('close', (status, signal) => resolve({ status, signal, stderr }));
  });
}

test('a command whose reader goes away (| head) ends quietly with exit 0', async () => {
  const res = await closeEarly(`
    import { main } from './src/cli/main.ts';
    import { out } from './src/cli/output.ts';
    main(async () => {
      for (let i = 0; i < 100000; i++) {
        out('line ' + i);
        await new Promise((r) => setImmediate(r));
      }
      return 3;
    });`);
  assert.is(res.stderr, '');
  assert.is(res.signal, null);
  assert.is(res.status, 0);
});

test('the exit code already set is kept (a failure stays a failure)', async () => {
  const res = await closeEarly(`
    import { main } from './src/cli/main.ts';
    import { out } from './src/cli/output.ts';
    main(async () => {
      process.exitCode = 1;
      for (let i = 0; i < 100000; i++) {
        out('line ' + i);
        await new Promise((r) => setImmediate(r));
      }
    });`);
  assert.is(res.stderr, '');
  assert.is(res.status, 1);
});

test.run();
