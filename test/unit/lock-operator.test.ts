// acquireOperatorLock with a transport that runs the scripts in a local bash (file lock only).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, ConnectError, LockError } from '../../src/errors.ts';
import { acquireOperatorLock } from '../../src/lock/operator-lock.ts';
import type { Target, Transport } from '../../src/ssh/transport.ts';

const dir = mkdtempSync(join(tmpdir(), 'shoestring-oplock-'));
const file = join(dir, 'operator.lock');
const scriptOptions = { dir, etcdctl: 'shoestring-test-no-etcdctl' };
const s1: Target = { name: 's1', host: '10.0.0.1' };
const s2: Target = { name: 's2', host: '10.0.0.2' };

/** s1 is down unless told otherwise; the others run the script here. */
function localTransport(down = new Set(['s1'])): Transport & { calls: string[] } {
  const calls: string[] = [];
  const fake = {
    calls,
    run: (target: Target, script: string, options: { what: string }) => {
      calls.push(`${target.name}: ${options.what}`);
      if (down.has(target.name)) {
        return Promise.reject(new ConnectError(target.name, 'unreachable', 'No route to host'));
      }
      const r = spawnSync('bash', ['-s'], {
        input: `set -euo pipefail\n${script}\n`,
        encoding: 'utf8',
      });
      if (r.status !== 0) {
        return Promise.reject(new CommandError(target.name, options.what, r.status, r.stderr));
      }
      return Promise.resolve({ stdout: r.stdout, stderr: r.stderr, code: 0 });
    },
  };
  return fake as unknown as Transport & { calls: string[] }; // only run() is used
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('an unreachable first server passes the lock to the next; a second run is refused', async () => {
  const transport = localTransport();
  const first = await acquireOperatorLock(transport, [s1, s2], {
    command: './provision.ts',
    ttlSeconds: 25,
    scriptOptions,
  });
  assert.is(first.server, 's2');
  assert.equal(transport.calls, ['s1: Take the operator lock', 's2: Take the operator lock']);

  const err = await acquireOperatorLock(transport, [s1, s2], {
    command: './scripts/destroy.ts',
    scriptOptions,
  }).catch((e: unknown) => e);
  assert.instance(err, LockError);
  const e = err as LockError;
  assert.match(
    e.message,
    /^the cluster is locked by .+@.+ \(pid \d+, \.\/provision\.ts\) since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)$/,
  );
  assert.match(e.hint ?? '', /--break-lock/);
  // The holder's TTL, not the asker's default.
  assert.match(e.hint ?? '', /its lock expires 25 s after its last refresh/);
  assert.is(e.exitCode, 1);
  await first.release();
  assert.not.ok(existsSync(file));
});

test('break-lock takes a live lock, warns naming its holder; the old holder cannot release it', async () => {
  const transport = localTransport(new Set());
  const old = await acquireOperatorLock(transport, [s1], {
    command: './provision.ts',
    scriptOptions,
  });
  const warnings: string[] = [];
  const mine = await acquireOperatorLock(transport, [s1], {
    command: './scripts/destroy.ts',
    breakLock: true,
    scriptOptions,
    onWarn: (m) => warnings.push(m),
  });
  assert.is(warnings.length, 1);
  assert.match(
    warnings[0] ?? '',
    /^broke the operator lock on s1 \(its lock file\) held by .+@.+ \(pid \d+, \.\/provision\.ts\), taken .* UTC/,
  );
  await old.release();
  assert.ok(readFileSync(file, 'utf8').includes('destroy.ts'), 'the new lock survives');
  await mine.release();
  await mine.release(); // idempotent
  assert.not.ok(existsSync(file));
});

test('an expired lock is taken over with a warning', async () => {
  const transport = localTransport(new Set());
  const gone = await acquireOperatorLock(transport, [s2], {
    command: './provision.ts',
    scriptOptions,
  });
  const old = new Date(Date.now() - 75_000);
  utimesSync(file, old, old);
  const warnings: string[] = [];
  const mine = await acquireOperatorLock(transport, [s2], {
    command: './provision.ts',
    scriptOptions,
    onWarn: (m) => warnings.push(m),
  });
  assert.is(warnings.length, 1);
  assert.match(
    warnings[0] ?? '',
    /^took over the expired operator lock on s2 \(its lock file; .+, last refreshed 7\d s ago\)$/,
  );
  await gone.release();
  await mine.release();
  assert.not.ok(existsSync(file));
});

test('no server answered: a LockError listing them', async () => {
  const err = await acquireOperatorLock(localTransport(new Set(['s1', 's2'])), [s1, s2], {
    command: './provision.ts',
    scriptOptions,
  }).catch((e: unknown) => e);
  assert.instance(err, LockError);
  assert.match(
    (err as Error).message,
    /no server answered \(s1: host unreachable .*; s2: host unreachable/,
  );
});

test('release never throws: a failure becomes a warning', async () => {
  const down = new Set<string>();
  const transport = localTransport(down);
  const warnings: string[] = [];
  const lock = await acquireOperatorLock(transport, [s2], {
    command: './provision.ts',
    scriptOptions,
    onWarn: (m) => warnings.push(m),
  });
  down.add('s2');
  await lock.release();
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0] ?? '',
    /^could not release the operator lock on s2 .*expires within 60 s/,
  );
  rmSync(file);
});

test('refreshes run on a timer; two failures in a row are reported once', async () => {
  const down = new Set<string>();
  const transport = localTransport(down);
  const warnings: string[] = [];
  const lock = await acquireOperatorLock(transport, [s2], {
    command: './provision.ts',
    ttlSeconds: 4, // a refresh every second
    scriptOptions,
    onWarn: (m) => warnings.push(m),
  });
  await new Promise((r) => setTimeout(r, 1300));
  assert.ok(transport.calls.includes('s2: Refresh the operator lock'));
  assert.equal(warnings, []);
  down.add('s2');
  await new Promise((r) => setTimeout(r, 2600));
  assert.is(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0] ?? '', /^could not refresh the operator lock on s2 twice in a row/);
  down.delete('s2');
  await lock.release();
  assert.not.ok(existsSync(file));
});

test('a lock taken from its holder is reported as lost at the next refresh', async () => {
  const transport = localTransport(new Set());
  const warnings: string[] = [];
  const lock = await acquireOperatorLock(transport, [s2], {
    command: './provision.ts',
    ttlSeconds: 4,
    scriptOptions,
    onWarn: (m) => warnings.push(m),
  });
  const other = await acquireOperatorLock(transport, [s2], {
    command: './provision.ts',
    breakLock: true,
    scriptOptions,
  });
  await new Promise((r) => setTimeout(r, 1300));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /^the operator lock on s2 was lost/);
  await lock.release();
  await other.release();
  assert.not.ok(existsSync(file));
});

test.run();
