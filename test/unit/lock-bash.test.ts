// The generated lock scripts run by a real local bash against a temp directory (no SSH; etcdctl
// is pointed at a command that does not exist, so only the file lock is in play).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRecord, type HolderRecord } from '../../src/lock/record.ts';
import {
  acquireScript,
  parseAcquireOutput,
  parseRefreshOutput,
  parseReleaseOutput,
  refreshScript,
  releaseScript,
} from '../../src/lock/scripts.ts';

const dir = mkdtempSync(join(tmpdir(), 'shoestring-lock-'));
const paths = { dir, etcdctl: 'shoestring-test-no-etcdctl' };
const file = join(dir, 'operator.lock');

/** Runs a script the way the transport does: `bash -s`, `set -euo pipefail` first. */
function bash(script: string): string {
  const r = spawnSync('bash', ['-s'], {
    input: `set -euo pipefail\nexport LC_ALL=C\n${script}\n`,
    encoding: 'utf8',
  });
  assert.is(r.status, 0, `the script failed: ${r.stderr}`);
  return r.stdout;
}

const holder = (n: number, token: string): HolderRecord => ({
  user: `user${n}`,
  machine: 'laptop',
  pid: 1000 + n,
  command: `./provision.ts --note 'it'"'"'s "quoted" $(id)'`,
  since: new Date().toISOString(),
  token,
});
const acquire = (r: HolderRecord, breakLock = false) =>
  parseAcquireOutput(bash(acquireScript(r, { ttlSeconds: 60, breakLock, ...paths })));

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('first acquire takes the lock and writes its record', () => {
  const first = holder(1, 'aaaa');
  assert.equal(acquire(first), { result: 'taken', leaseId: undefined, replaced: [] });
  assert.is(readFileSync(file, 'utf8'), `${formatRecord(first)}\n`);
});

test('a second acquire (another token) is refused, naming the first', () => {
  const out = acquire(holder(2, 'bbbb'));
  assert.ok(out?.result === 'held', JSON.stringify(out));
  assert.is(out.holder.source, 'file');
  assert.is(out.holder.state, 'live');
  assert.is(out.holder.record?.user, 'user1');
  assert.is(out.holder.record?.token, 'aaaa');
  assert.is(readFileSync(file, 'utf8').includes('"token":"aaaa"'), true, 'the file is unchanged');
});

test('the holder refreshes; a non-holder cannot', () => {
  utimesSync(file, new Date(Date.now() - 30_000), new Date(Date.now() - 30_000));
  assert.equal(parseRefreshOutput(bash(refreshScript('aaaa', undefined, paths))), {
    file: 'ok',
    etcd: 'none',
  });
  assert.ok(Date.now() - statMtime() < 10_000, 'the refresh touched the file');
  assert.equal(parseRefreshOutput(bash(refreshScript('bbbb', undefined, paths))), {
    file: 'lost',
    etcd: 'none',
  });
});

test('once its mtime is older than the TTL, a third acquire takes over', () => {
  const old = new Date(Date.now() - 61_000);
  utimesSync(file, old, old);
  const third = holder(3, 'cccc');
  const out = acquire(third);
  assert.ok(out?.result === 'taken', JSON.stringify(out));
  assert.is(out.replaced.length, 1);
  assert.is(out.replaced[0]?.state, 'expired');
  assert.is(out.replaced[0]?.record?.token, 'aaaa');
  assert.ok((out.replaced[0]?.ageSeconds ?? 0) >= 60);
  assert.is(readFileSync(file, 'utf8'), `${formatRecord(third)}\n`);
});

test("a lock is live for its holder's TTL, not the TTL of the run that asks", () => {
  const ago = (s: number) => {
    const t = new Date(Date.now() - s * 1000);
    utimesSync(file, t, t);
  };
  const take = (r: HolderRecord, ttlSeconds: number) =>
    parseAcquireOutput(bash(acquireScript(r, { ttlSeconds, breakLock: false, ...paths })));
  // A holder with LOCK_TTL=120, last refreshed 70 s ago: a run with 10 must not take it.
  writeFileSync(file, `${formatRecord({ ...holder(6, 'f1f1'), ttl: 120 })}\n`);
  ago(70);
  assert.is(take(holder(7, 'f2f2'), 10)?.result, 'held');
  // A record from before records carried a TTL: it had the default, 60 s.
  writeFileSync(file, `${formatRecord(holder(6, 'f3f3'))}\n`);
  ago(30);
  assert.is(take(holder(7, 'f4f4'), 10)?.result, 'held');
  ago(61);
  assert.is(take(holder(7, 'f5f5'), 10)?.result, 'taken');
  // A holder with a short TTL expires by its own, even for a run with a longer one.
  writeFileSync(file, `${formatRecord({ ...holder(8, 'f6f6'), ttl: 10 })}\n`);
  ago(11);
  const out = take({ ...holder(1, 'aaaa'), ttl: 60 }, 60);
  assert.ok(out?.result === 'taken', JSON.stringify(out));
  assert.is(out.replaced[0]?.state, 'expired');
  assert.is(out.replaced[0]?.record?.ttl, 10);
  // Back to the state the next tests expect: holder 3 holds it.
  writeFileSync(file, `${formatRecord(holder(3, 'cccc'))}\n`);
});

test('release by a non-holder leaves the lock in place', () => {
  assert.equal(parseReleaseOutput(bash(releaseScript('aaaa', undefined, paths))), {
    file: 'not-ours',
    etcd: 'none',
  });
  assert.ok(readFileSync(file, 'utf8').includes('"token":"cccc"'));
  assert.is(acquire(holder(4, 'dddd'))?.result, 'held');
});

test('break-lock removes a live lock and names it', () => {
  const out = acquire(holder(5, 'eeee'), true);
  assert.ok(out?.result === 'taken', JSON.stringify(out));
  assert.equal(
    out.replaced.map((r) => [r.source, r.state, r.record?.token]),
    [['file', 'broken', 'cccc']],
  );
  assert.ok(readFileSync(file, 'utf8').includes('"token":"eeee"'));
});

test('release by the holder removes the file; the next acquire is free', () => {
  assert.equal(parseReleaseOutput(bash(releaseScript('eeee', undefined, paths))), {
    file: 'released',
    etcd: 'none',
  });
  assert.not.ok(existsSync(file));
  assert.is(acquire(holder(6, 'ffff'))?.result, 'taken');
});

function statMtime(): number {
  return Number(bash(`stat -c %Y ${file}`).trim()) * 1000;
}

test.run();
