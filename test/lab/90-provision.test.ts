/**
 * The foundation against real servers: a dry run on the lab changes nothing, a provision
 * converges, a second provision reports 0 changes, and no secret appears in any output.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { events, labUp, runCommand, totals } from './provision-helpers.ts';

test.before(() => labUp(3));

const secretsOf = (): string[] => {
  const env = parse(readFileSync('.lab/.env'));
  return [env['PDNS_API_KEY'] ?? ''].filter((s) => s.length >= 4);
};

test('a dry run shows the difference as a diff and changes nothing', () => {
  // Converge base first, then drift one file on s2 by hand.
  assert.is(runCommand('provision.ts', ['--lab', '--only', 'base']).status, 0);
  assert.is(
    runCommand('scripts/lab.ts', ['ssh', 's2', 'echo "10.9.9.9 intruder" >> /etc/hosts']).status,
    0,
  );
  const dry = runCommand('provision.ts', ['--lab', '--only', 'base', '--dry-run', '--json']);
  assert.is(dry.status, 0, dry.stderr);
  const changes = events(dry.stdout).filter((e) => e.type === 'change');
  assert.equal(
    changes.map((c) => [c['host'], c['summary']]),
    [[changes[0]?.['host'], 'update /etc/hosts']],
  );
  assert.match(String(changes[0]?.['host']), /\.12$|s2/);
  assert.match(String(changes[0]?.['diff']), /^-10\.9\.9\.9 intruder$/m);
  const after = runCommand('scripts/lab.ts', ['ssh', 's2', 'cat /etc/hosts']);
  assert.match(after.stdout, /10\.9\.9\.9 intruder/, 'the dry run changed the file');
});

test('provision converges; the second run reports 0 changes', () => {
  const first = runCommand('provision.ts', ['--lab', '--json']);
  assert.is(first.status, 0, first.stdout + first.stderr);
  assert.is(totals(first.stdout).failed, 0);
  assert.is(totals(first.stdout).hosts, 3);
  const second = runCommand('provision.ts', ['--lab', '--json']);
  assert.is(second.status, 0, second.stdout + second.stderr);
  const t = totals(second.stdout);
  assert.is(
    t.changed,
    0,
    `second run changed: ${events(second.stdout)
      .filter((e) => e.type === 'change')
      .map((e) => `${String(e['host'])}: ${String(e['summary'])}`)
      .join('; ')}`,
  );
  // `lab up` on a running lab repairs the lab but leaves what provision manages alone; and
  // plain output says 0 changed too.
  labUp(3);
  const plain = runCommand('provision.ts', ['--lab']);
  assert.match(plain.stdout, /Summary: 3 hosts · 0 changed · \d+ unchanged · 0 failed/);
  for (const s of secretsOf()) {
    for (const out of [first, second, plain])
      assert.not.ok((out.stdout + out.stderr).includes(s), 'a secret leaked into the output');
  }
});

test('drift is repaired: a changed managed file is put back, and only it', () => {
  const ssh = runCommand('scripts/lab.ts', ['ssh', 's1', 'echo "# drift" >> /etc/hosts']);
  assert.is(ssh.status, 0, ssh.stderr);
  const run = runCommand('provision.ts', ['--lab', '--only', 'base', '--json']);
  assert.is(run.status, 0, run.stderr);
  const changes = events(run.stdout).filter((e) => e.type === 'change');
  assert.equal(
    changes.map((c) => [c['summary']]),
    [['update /etc/hosts']],
  );
  const hosts = runCommand('scripts/lab.ts', ['ssh', 's1', 'cat /etc/hosts']);
  assert.not.match(hosts.stdout, /# drift/);
});

test('an unreachable server fails preflight clearly and nothing changes', () => {
  const stop = runCommand('scripts/lab.ts', ['partition', 's3']);
  assert.is(stop.status, 0, stop.stderr);
  try {
    const run = runCommand('provision.ts', ['--lab']);
    assert.is(run.status, 1);
    assert.match(run.stdout + run.stderr, /unreachable|timed out/);
    assert.match(run.stdout + run.stderr, /nothing was changed/);
  } finally {
    runCommand('scripts/lab.ts', ['heal', 's3']);
  }
});

test.run();
