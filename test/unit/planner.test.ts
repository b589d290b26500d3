import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyScript, decide, notifications, sha256 } from '../../src/plan/decide.ts';
import { parseFacts, probeScript } from '../../src/plan/facts.ts';
import { apt, files, shell, systemd, type Step } from '../../src/plan/steps.ts';
import { FactError } from '../../src/errors.ts';
import { failedStepTitle, skippedTitles, stripMarkers } from '../../src/plan/runner.ts';
import { spawnSync } from 'node:child_process';

const conf = files.file('/etc/app.conf', 'port = 80\n', {
  mode: '0640',
  group: 'www-data',
  notify: [{ service: 'app', action: 'reload' }],
});
const steps: Step[] = [
  apt.packages(['etcd-server', 'etcd-client']),
  conf,
  files.directory('/var/lib/app', { owner: 'www-data' }),
  systemd.service('app'),
  shell.command('Enable module', 'test -e /etc/mod', 'touch /etc/mod'),
];

/** Probe output as a server would print it. */
function output(sections: string[][]): string {
  return (
    sections.map((lines, i) => [`@@shoestring-step ${i}`, ...lines].join('\n')).join('\n') + '\n'
  );
}

test('a converged server: every step decides nothing', () => {
  const facts = parseFacts(
    steps,
    output([
      ['etcd-server ii ', 'etcd-client ii '],
      ['640 root www-data', sha256('port = 80\n')],
      ['directory|755 www-data root'],
      ['enabled', 'active'],
      ['DONE'],
    ]),
    's1',
  );
  assert.equal(
    steps.map((s, i) => decide(s, facts[i]!)),
    [null, null, null, null, null],
  );
});

test('a fresh server: the exact list of changes', () => {
  const facts = parseFacts(
    steps,
    output([['etcd-client un '], ['MISSING'], ['MISSING'], ['', 'inactive'], ['TODO']]),
    's1',
  );
  const changes = steps.map((s, i) => decide(s, facts[i]!));
  assert.equal(
    changes.map((c) => c?.summary),
    [
      'install etcd-server etcd-client',
      'create /etc/app.conf (0640 root:www-data)',
      'create directory /var/lib/app',
      'enable + start app',
      'run: Enable module',
    ],
  );
});

test('drift: content, mode and owner, stopped service', () => {
  const facts = parseFacts(
    [conf, conf, systemd.service('app'), files.directory('/var/lib/app')],
    output([
      ['640 root www-data', sha256('port = 8080\n')],
      ['644 root root', sha256('port = 80\n')],
      ['enabled', 'failed'],
      ['regular file|644 root root'],
    ]),
    's1',
  );
  assert.is(decide(conf, facts[0]!)?.summary, 'update /etc/app.conf');
  assert.is(
    decide(conf, facts[1]!)?.summary,
    'fix /etc/app.conf: owner root:root → root:www-data, mode 0644 → 0640',
  );
  assert.is(decide(systemd.service('app'), facts[2]!)?.summary, 'start app');
  assert.match(
    decide(files.directory('/var/lib/app'), facts[3]!)?.summary ?? '',
    /is not a directory/,
  );
});

test('a stopped-on-purpose service is stopped and disabled', () => {
  const s = systemd.service('nginx', { enabled: false, running: false });
  const [fact] = parseFacts([s], output([['enabled', 'active']]), 's1');
  assert.is(decide(s, fact!)?.summary, 'disable + stop nginx');
  const [off] = parseFacts([s], output([['disabled', 'inactive']]), 's1');
  assert.is(decide(s, off!), null);
});

test('notifications: once per service, restart wins over reload, checks kept', () => {
  const a = files.file('/a', 'a', {
    notify: [{ service: 'web', action: 'reload', check: 'web -t' }],
  });
  const b = files.file('/b', 'b', {
    notify: [
      { service: 'web', action: 'restart' },
      { service: 'db', action: 'reload' },
    ],
  });
  const c = files.file('/c', 'c', { notify: [{ service: 'db', action: 'reload' }] });
  const missing = parseFacts([a], output([['MISSING']]), 's1')[0]!;
  const changes = [a, b, c].map((s) => decide(s, missing)!);
  assert.equal(notifications(changes), [
    { service: 'web', action: 'restart' },
    { service: 'db', action: 'reload' },
  ]);
  const script = applyScript(changes);
  assert.is(script.match(/systemctl restart web/g)?.length, 1);
  assert.is(script.match(/systemctl reload-or-restart db/g)?.length, 1);
});

test('file writes are atomic with owner and mode, content travels base64 in the script', () => {
  const [missing] = parseFacts([conf], output([['MISSING']]), 's1');
  const script = decide(conf, missing!)!.script;
  assert.match(script, /tmp=\$\(mktemp \/etc\/app\.conf\.shoestring\.XXXXXX\)/);
  assert.match(script, /chown root:www-data "\$tmp"/);
  assert.match(script, /chmod 0640 "\$tmp"/);
  assert.match(script, /mv -f "\$tmp" \/etc\/app\.conf/);
  assert.ok(script.includes(Buffer.from('port = 80\n').toString('base64')));
});

test('noStart packages install under a temporary policy-rc.d', () => {
  const s = apt.packages(['etcd-server'], { noStart: true });
  const [f] = parseFacts([s], output([[]]), 's1');
  const script = decide(s, f!)!.script;
  assert.match(script, /exit 101/);
  assert.match(script, /restore_policy/);
});

test('the probe script marks every step; bad probe output is a FactError naming the host', () => {
  const script = probeScript(steps);
  for (let i = 0; i < steps.length; i++) assert.ok(script.includes(`@@shoestring-step ${i}`));
  assert.throws(
    () => parseFacts([conf], output([['640 root']]), 's9'),
    (e: unknown) => e instanceof FactError && e.message.startsWith('s9:'),
  );
  assert.throws(
    () => parseFacts(steps, '@@shoestring-step 0\n', 's9'),
    (e: unknown) => e instanceof FactError && /printed nothing/.test(e.message),
  );
});

test('a failed apply names the step it was on', () => {
  const stderr = '@@shoestring-apply Packages x\n@@shoestring-apply File /etc/a\nE: boom\n';
  assert.is(failedStepTitle(stderr), 'File /etc/a');
});

test('a guarded command re-checks when applied, and says when it had nothing to do', () => {
  const [todo] = parseFacts([shell.command('x', 'false', 'true')], output([['TODO']]), 's1');
  const run = (unless: string) => {
    const step = shell.command('Make the thing', unless, 'echo ran');
    const script = decide(step, todo!)!.script;
    return spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  };
  const needed = run('false');
  assert.is(needed.stdout, 'ran\n');
  assert.equal([...skippedTitles(needed.stderr)], []);
  const done = run('true');
  assert.is(done.stdout, '');
  assert.equal([...skippedTitles(done.stderr)], ['Make the thing']);
  assert.is(stripMarkers(done.stderr).trim(), '');
});

test.run();
