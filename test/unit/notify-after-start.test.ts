import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyScript, decide, notifications, type Change } from '../../src/plan/decide.ts';
import { spawnSync } from 'node:child_process';
import { files, shell, systemd } from '../../src/plan/steps.ts';

const conf = files.file('/etc/x.conf', 'a\n', {
  notify: [{ service: 'x', action: 'restart' }],
});
const confChange = decide(conf, { kind: 'file', exists: false }) as Change;

test('a service started later in the same apply is not restarted right after its start', () => {
  const start = decide(systemd.service('x'), {
    kind: 'service',
    enabled: 'disabled',
    active: 'inactive',
  });
  assert.ok(start);
  assert.equal(notifications([confChange, start as Change]), []);
});

test('a running service is still restarted when its config changed', () => {
  assert.equal(
    notifications([confChange]).map((n) => n.service),
    ['x'],
  );
  // Only enabled (it already runs): still restarted.
  const enable = decide(systemd.service('x'), {
    kind: 'service',
    enabled: 'disabled',
    active: 'active',
  });
  assert.equal(
    notifications([confChange, enable as Change]).map((n) => n.action),
    ['restart'],
  );
});

test('a start before the config change does not cancel the restart', () => {
  const start = decide(systemd.service('x'), {
    kind: 'service',
    enabled: 'enabled',
    active: 'inactive',
  });
  assert.equal(
    notifications([start as Change, confChange]).map((n) => n.service),
    ['x'],
  );
});

test('restart-later only marks the service; the restart is left to a later step', () => {
  const later = files.file('/etc/default/etcd', 'a\n', {
    notify: [{ service: 'etcd', action: 'restart-later' }],
  });
  const script = applyScript([decide(later, { kind: 'file', exists: false }) as Change]);
  assert.match(script, /touch \/run\/shoestring\/restart-etcd/);
  assert.not.match(script, /systemctl restart/);
  assert.match(applyScript([confChange]), /systemctl restart x/);
});

/** Runs an apply script in bash with systemctl replaced by an echo. */
function applyIn(changes: Change[]): string {
  const script = `set -euo pipefail\nsystemctl() { echo "systemctl $*"; }\n${applyScript(changes)}`;
  return spawnSync('bash', ['-c', script], { encoding: 'utf8' }).stdout;
}

test('a guarded command whose re-check passes at apply time notifies nobody', () => {
  const notify = [{ service: 'x', action: 'restart' as const }];
  const done = shell.command('Issue', 'true', 'echo issued', notify);
  const todo = shell.command('Issue', 'false', 'echo issued', notify);
  const change = (step: typeof done) => decide(step, { kind: 'command', done: false }) as Change;
  assert.not.match(applyIn([change(done)]), /issued|systemctl restart x/);
  assert.match(applyIn([change(todo)]), /issued\nsystemctl restart x/);
  // One real change among skipped ones is enough.
  assert.match(applyIn([change(done), confChange]), /systemctl restart x/);
});

test.run();
