// Apply scripts: the notification merge (pure), and the generated scripts run by a local bash
// where they need no root paths: the apply body (PRELUDE left out, the pending directory moved to
// a temp directory, systemctl a stub that only logs), and the file write with a validator.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyScript,
  finishScript,
  notifications,
  PRELUDE,
  readApplyStderr,
} from '../../src/plan/apply.ts';
import { PENDING_DIR, type PhasePlan } from '../../src/plan/probe.ts';
import { readSections, sectionLine } from '../../src/plan/sections.ts';
import { decideStep, files, shell, type Change, type Notify } from '../../src/plan/steps/index.ts';
import { writeFileScript } from '../../src/plan/steps/file.ts';

const root = mkdtempSync(join(tmpdir(), 'shoestring-apply-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const change = (
  title: string,
  notify: readonly Notify[] = [],
  extra: Partial<Change> = {},
): Change => ({ title, summary: title, script: ':', notify, ...extra });
const reloadApache: Notify = { service: 'apache2', action: 'reload', check: 'apache2ctl -t' };
const restartApache: Notify = { service: 'apache2', action: 'restart', check: 'apache2ctl -t' };
const restartEtcd: Notify = {
  service: 'etcd',
  action: 'restart',
  turn: 'etcd',
  settle: 'wait-etcd',
};

test('notifications: each service once, restart wins over reload in either order', () => {
  assert.equal(notifications([change('a', [reloadApache]), change('b', [reloadApache])]), [
    reloadApache,
  ]);
  assert.equal(notifications([change('a', [reloadApache]), change('b', [restartApache])]), [
    restartApache,
  ]);
  assert.equal(notifications([change('a', [restartApache]), change('b', [reloadApache])]), [
    restartApache,
  ]);
  assert.equal(notifications([change('a', [restartEtcd, reloadApache])]), [
    restartEtcd,
    reloadApache,
  ]);
  assert.equal(notifications([change('a')]), []);
});

test('notifications: a service a later change starts is not restarted', () => {
  const start = change('start etcd', [], { starts: 'etcd' });
  assert.equal(notifications([change('conf', [restartEtcd]), start]), []);
  // Asked after the start: the running service must pick the change up.
  assert.equal(notifications([start, change('conf', [restartEtcd])]), [restartEtcd]);
  assert.equal(notifications([change('conf', [restartEtcd, reloadApache]), start]), [reloadApache]);
});

test('notifications: pending ones are included and merged', () => {
  const pendingReload: Notify = { service: 'apache2', action: 'reload' };
  assert.equal(notifications([], [pendingReload]), [pendingReload]);
  assert.equal(notifications([change('a', [restartApache])], [pendingReload]), [restartApache]);
  assert.equal(notifications([change('a', [reloadApache])], [restartApache]), [restartApache]);
  assert.equal(notifications([change('a', [reloadApache])], [restartEtcd]), [
    restartEtcd,
    reloadApache,
  ]);
});

/** Runs an apply script's body by a local bash: no PRELUDE, pending markers in a temp dir. */
function runApply(plan: PhasePlan, running: readonly string[] = []) {
  const script = applyScript(plan);
  assert.ok(script.startsWith(`${PRELUDE}\n`), 'the apply script starts with the PRELUDE');
  const dir = mkdtempSync(join(root, 'run-'));
  const pending = join(dir, 'pending');
  const log = join(dir, 'systemctl.log');
  const stubs = [
    'shoestring_on_exit() { trap "$1" EXIT; }',
    // `is-active` answers for the services named running; everything else succeeds.
    `systemctl() { echo "systemctl $*" >> ${log}; if [ "$1" = is-active ]; then case " ${running.join(' ')} " in *" \${@: -1} "*) return 0;; *) return 3;; esac; fi; }`,
    `apache2ctl() { echo "apache2ctl $*" >> ${log}; }`,
    `wait-etcd() { echo "settled" >> ${log}; }`,
    `export MARKERS=${pending} SEEN=${join(dir, 'seen')}`,
  ].join('\n');
  const body = script.slice(PRELUDE.length).replaceAll(PENDING_DIR, pending);
  const r = spawnSync('bash', ['-s'], {
    input: `set -euo pipefail\n${stubs}\n${body}\n`,
    encoding: 'utf8',
  });
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : []);
  return {
    code: r.status,
    stderr: r.stderr,
    owed: readSections(r.stdout).get('owed'),
    systemctl: read(log),
    markers: existsSync(pending) ? readdirSync(pending).sort() : [],
    seen: read(join(dir, 'seen')),
  };
}

const plan = (changes: Change[], pending: Notify[] = []): PhasePlan => ({
  changes,
  unchanged: 0,
  pending,
});

test('apply: markers are recorded before any change; turn-bound ones are owed, others done', () => {
  const first = change('first', [restartEtcd], { script: 'ls "$MARKERS" > "$SEEN"' });
  const out = runApply(plan([first, change('second', [reloadApache])]));
  assert.is(out.code, 0, out.stderr);
  assert.equal(out.seen, ['apache2.reload', 'etcd.restart']);
  assert.equal(out.owed, ['etcd restart']);
  assert.equal(out.systemctl, ['apache2ctl -t', 'systemctl reload-or-restart apache2']);
  assert.equal(out.markers, ['etcd.restart'], 'the owed restart stays recorded until it is done');
  assert.equal(readApplyStderr(out.stderr), { lastStep: 'reload apache2', skipped: new Set() });
});

test('apply: a planned start that finds the service running (a package started it) still reloads', () => {
  const conf = change('conf', [reloadApache]);
  const start = change('start apache2', [], {
    starts: 'apache2',
    script: 'systemctl start apache2',
  });
  const stopped = runApply(plan([conf, start]));
  assert.is(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.systemctl, ['systemctl is-active -q apache2', 'systemctl start apache2']);
  const started = runApply(plan([conf, start]), ['apache2']);
  assert.is(started.code, 0, started.stderr);
  assert.equal(started.systemctl, [
    'systemctl is-active -q apache2',
    'systemctl start apache2',
    'apache2ctl -t',
    'systemctl reload-or-restart apache2',
  ]);
});

test('apply: without a turn-bound notification there is no owed section', () => {
  const out = runApply(plan([change('conf', [reloadApache])]));
  assert.is(out.code, 0, out.stderr);
  assert.is(out.owed, undefined);
  assert.equal(out.markers, []);
});

test('apply: a guarded command whose check passes now is skipped and owes nothing', () => {
  const step = shell.command('Join', 'test -e "$SEEN"', 'echo ran > "$SEEN.ran"', [restartEtcd]);
  const guarded = decideStep(step, { done: false });
  assert.ok(guarded?.guarded);
  const prepare = change('prepare', [], { script: 'touch "$SEEN"' });
  const out = runApply(plan([prepare, guarded]));
  assert.is(out.code, 0, out.stderr);
  assert.equal(out.owed, [], 'the owed section is empty');
  assert.equal(out.markers, [], 'its marker is cleared');
  assert.equal(readApplyStderr(out.stderr), { lastStep: 'Join', skipped: new Set(['Join']) });
  assert.not.ok(
    readdirSync(root, { recursive: true })
      .map(String)
      .some((f) => f.endsWith('seen.ran')),
  );

  const runs = runApply(plan([guarded]));
  assert.is(runs.code, 0, runs.stderr);
  assert.equal(runs.owed, ['etcd restart']);
  assert.equal(readApplyStderr(runs.stderr).skipped, new Set());
});

test('apply: pending notifications are done even when no change asks again', () => {
  const out = runApply(plan([], [{ service: 'nginx', action: 'reload' }, restartEtcd]));
  assert.is(out.code, 0, out.stderr);
  assert.equal(out.systemctl, ['systemctl reload-or-restart nginx']);
  assert.equal(out.owed, ['etcd restart']);
  assert.equal(out.markers, ['etcd.restart']);
});

test('apply: a failing change stops the script and leaves its restart recorded', () => {
  const out = runApply(
    plan([change('conf', [restartApache]), change('broken', [], { script: 'false' })]),
  );
  assert.is(out.code, 1);
  assert.equal(out.systemctl, []);
  assert.equal(out.markers, ['apache2.restart']);
  assert.is(readApplyStderr(out.stderr).lastStep, 'broken');
});

test('readApplyStderr: the last step and the skipped guarded commands, noise ignored', () => {
  const stderr = [
    'noise',
    sectionLine('apply:One'),
    'E: oops',
    sectionLine('apply:Two'),
    sectionLine('skipped:Two'),
    sectionLine('apply:restart etcd'),
    '',
  ].join('\n');
  assert.equal(readApplyStderr(stderr), { lastStep: 'restart etcd', skipped: new Set(['Two']) });
  assert.equal(readApplyStderr('plain failure\n'), { skipped: new Set() });
});

test('finishScript: PRELUDE, then check, restart, settle and clearing, per notification', () => {
  const s = finishScript([restartEtcd, restartApache]);
  assert.ok(s.startsWith(`${PRELUDE}\n`));
  const order = [
    'systemctl restart etcd',
    'wait-etcd',
    `rm -f ${PENDING_DIR}/etcd.restart ${PENDING_DIR}/etcd.reload`,
    'apache2ctl -t',
    'systemctl restart apache2',
  ];
  const at = order.map((l) => s.indexOf(`\n${l}\n`));
  assert.ok(
    at.every((i, k) => i > 0 && (k === 0 || i > (at[k - 1] ?? 0))),
    `order: ${at.join(' ')}`,
  );
});

/** Writes `content` to `path` with a validator, by a local bash; the exit code and stderr. */
function write(path: string, content: string, validate: string) {
  const id = (flag: string) => spawnSync('id', [flag], { encoding: 'utf8' }).stdout.trim();
  const step = files.file(path, content, { validate, owner: id('-un'), group: id('-gn') });
  const r = spawnSync('bash', ['-s'], {
    input: `set -euo pipefail\nshoestring_on_exit() { trap "$1" EXIT; }\n${writeFileScript(step)}\n`,
    encoding: 'utf8',
  });
  return { code: r.status, stderr: r.stderr };
}
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.includes('.shoestring'));

test('file write: a failing validator puts the previous file back, byte for byte', () => {
  const dir = join(root, 'v1');
  mkdirSync(dir);
  const path = join(dir, 'site.conf');
  const previous = Buffer.from([0x6f, 0x6c, 0x64, 0x0d, 0x0a, 0xff, 0x00, 0x6e, 0x6f, 0x20]);
  writeFileSync(path, previous);
  const out = write(path, 'new but bad\n', `grep -q good ${path}`);
  assert.is.not(out.code, 0);
  assert.ok(readFileSync(path).equals(previous), 'the previous file is back');
  assert.match(out.stderr, 'the new file fails its check');
  assert.equal(leftovers(dir), []);
});

test('file write: a failing validator with no previous file leaves no file', () => {
  const dir = join(root, 'v2');
  mkdirSync(dir);
  const out = write(join(dir, 'site.conf'), 'bad\n', 'echo "syntax error" >&2; false');
  assert.is.not(out.code, 0);
  assert.match(out.stderr, 'syntax error');
  assert.equal(readdirSync(dir), []);
});

test('file write: a passing validator (which sees the new file) replaces it', () => {
  const dir = join(root, 'v3');
  mkdirSync(dir);
  const path = join(dir, 'site.conf');
  writeFileSync(path, 'old\n');
  const out = write(path, 'good\n', `grep -qx good ${path}`);
  assert.is(out.code, 0, out.stderr);
  assert.is(readFileSync(path, 'utf8'), 'good\n');
  assert.equal(leftovers(dir), []);
});

test.run();
