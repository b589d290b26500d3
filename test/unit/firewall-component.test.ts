import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  confirmGate,
  fail2banPhase,
  firewall,
  firewallPhase,
  firewallPhases,
} from '../../src/components/firewall.ts';
import { CONNECT_TIMEOUT, GATE_SECONDS, ROLLBACK_SECONDS } from '../../src/firewall/paths.ts';
import { rulesetHash } from '../../src/firewall/ruleset.ts';
import { applyScript, notifications } from '../../src/plan/apply.ts';
import { staticSteps, type Phase } from '../../src/plan/phase.ts';
import { decideStep, parseStep, type Change, type Step } from '../../src/plan/steps/index.ts';
import { hostContext, THREE } from './fixtures/cluster.ts';

const ctx = hostContext(THREE);
const stepsOf = (phase: Phase): readonly Step[] => staticSteps(phase) ?? [];
const titles = (phase: Phase) => stepsOf(phase).map((s) => `${s.kind} ${s.title}`);

/** What each step's probe prints on a server that never had the firewall. */
function freshLines(step: Step): string[] {
  switch (step.kind) {
    case 'file':
      return ['MISSING'];
    case 'service':
      return ['enabled', 'active inactive'];
    case 'command':
      return ['TODO'];
    case 'daemon-reload':
      return step.units.flatMap((u) => [`unit ${u.unit}`, 'need', 'loaded']);
    default:
      return [];
  }
}

/** The changes a first install makes, as the planner decides them. */
function firstInstall(steps: readonly Step[]): Change[] {
  const changes: Change[] = [];
  for (const step of steps) {
    const change = decideStep(step, parseStep(step, freshLines(step)), changes);
    if (change) changes.push(change);
  }
  return changes;
}

test('the firewall phase: packages, helper, unit, reload, the ruleset, the service, the try', () => {
  assert.equal(titles(firewallPhase(ctx)), [
    'packages Packages nftables',
    'file File /usr/local/sbin/shoestring-firewall',
    'file File /etc/systemd/system/shoestring-firewall.service',
    'daemon-reload Load the unit files of shoestring-firewall',
    'file File /etc/shoestring/firewall.nft',
    'service Service shoestring-firewall',
    'command Try the firewall ruleset',
  ]);
  const [, helper, , , ruleset, , tryIt] = stepsOf(firewallPhase(ctx));
  assert.ok(helper?.kind === 'file' && helper.mode === '0700', 'the helper is root only');
  assert.ok(ruleset?.kind === 'file');
  assert.is(ruleset.validate, 'nft -c -f /etc/shoestring/firewall.nft');
  assert.is(ruleset.notify, undefined, 'no reload: the try is a command of its own');
  assert.ok(rulesetHash(ruleset.content), 'the ruleset carries its hash');
  assert.ok(tryIt?.kind === 'command');
  assert.is(tryIt.unless, '/usr/local/sbin/shoestring-firewall status');
  assert.equal(tryIt.after, ['/etc/shoestring/firewall.nft']);
});

test('a first install starts the service (its start tries the file); no reload anywhere', () => {
  const changes = firstInstall(stepsOf(firewallPhase(ctx)));
  assert.equal(notifications(changes), []);
  const script = applyScript({ changes, unchanged: 0, pending: [] });
  const start = script.indexOf('systemctl start shoestring-firewall');
  const tryIt = script.indexOf('shoestring-firewall loaded >/dev/null || ');
  assert.ok(start >= 0 && tryIt > start, 'started, then the guarded try');
  assert.not.match(script, /reload(-or-restart)? shoestring-firewall/, 'no reload of the unit');
});

test('a converged server whose ruleset changes: the try follows the file, probed or not', () => {
  const steps = stepsOf(firewallPhase(ctx));
  const converged = (step: Step): string[] =>
    step.kind === 'service'
      ? ['enabled enabled', 'active active']
      : step.kind === 'command'
        ? ['DONE']
        : step.kind === 'file' && step.path !== '/etc/shoestring/firewall.nft'
          ? ['MISSING']
          : freshLines(step);
  const changes: Change[] = [];
  for (const step of steps) {
    const change = decideStep(step, parseStep(step, converged(step)), changes);
    if (change) changes.push(change);
  }
  assert.ok(
    changes.some((c) => c.title === 'Try the firewall ruleset'),
    'the try is due',
  );
});

test('the confirm gate: confirm over new connections, for longer than the rollback delay', () => {
  const gate = firewallPhase(ctx).confirm;
  assert.ok(gate);
  assert.is(gate.title, confirmGate(ctx).title);
  assert.is(gate.probe, '/usr/local/sbin/shoestring-firewall confirm');
  assert.equal(gate.fresh, { connectTimeout: CONNECT_TIMEOUT });
  assert.ok(gate.seconds === GATE_SECONDS && gate.seconds > ROLLBACK_SECONDS + 2 * CONNECT_TIMEOUT);
  assert.is(gate.verdict('confirmed\n'), undefined);
  assert.throws(() => gate.verdict('rolled-back x\n'), /root@203\.0\.113\.10: the new firewall/);
});

test('FIREWALL=off: the table unloaded, the unit, helper and files removed; no gate', () => {
  const [off, f2b] = firewallPhases(hostContext(THREE, 'FIREWALL=off\n'));
  assert.ok(off && f2b);
  assert.is(off.confirm, undefined);
  assert.equal(titles(off), [
    'command Unload the firewall table',
    'unit-absent No unit shoestring-firewall',
    'absent No /usr/local/sbin/shoestring-firewall',
    'absent No /etc/shoestring/firewall.nft',
    'absent No /var/lib/shoestring/firewall',
  ]);
  const unload = stepsOf(off)[0];
  assert.ok(unload?.kind === 'command');
  assert.match(unload.unless, /^! nft list table inet shoestring/);
  assert.match(unload.run, /delete table inet shoestring/);
  assert.not.match(unload.run, /flush/);
  assert.is(f2b.title, 'fail2ban', 'fail2ban is its own setting');
});

test('fail2ban: its packages (not started by the install), the jail checked, restarted', () => {
  const [packages, jail, service] = stepsOf(fail2banPhase(ctx));
  assert.equal(packages, {
    kind: 'packages',
    title: 'Packages fail2ban python3-systemd nftables',
    names: ['fail2ban', 'python3-systemd', 'nftables'],
    present: true,
    noStart: true,
  });
  assert.ok(jail?.kind === 'file' && jail.path === '/etc/fail2ban/jail.d/shoestring.conf');
  assert.is(jail.validate, 'fail2ban-client -t');
  assert.equal(jail.notify, [{ service: 'fail2ban', action: 'restart' }]);
  assert.equal(service, {
    kind: 'service',
    title: 'Service fail2ban',
    name: 'fail2ban',
    enabled: true,
    running: true,
  });
});

test('FAIL2BAN=off: fail2ban stopped and disabled, our jail removed', () => {
  const [, f2b] = firewallPhases(hostContext(THREE, 'FAIL2BAN=off\n'));
  assert.ok(f2b);
  assert.equal(titles(f2b), [
    'service Service fail2ban',
    'absent No /etc/fail2ban/jail.d/shoestring.conf',
  ]);
  const [service] = stepsOf(f2b);
  assert.ok(service?.kind === 'service' && !service.enabled && service.running === false);
});

test('teardown: table, unit, helper, files and the jail', () => {
  const phases = firewall.teardown?.(ctx) ?? [];
  assert.is(phases.length, 1);
  const all = titles(phases[0]!);
  for (const want of [
    'command Unload the firewall table',
    'unit-absent No unit shoestring-firewall',
    'absent No /usr/local/sbin/shoestring-firewall',
    'absent No /etc/shoestring/firewall.nft',
    'absent No /var/lib/shoestring/firewall',
    'absent No /etc/fail2ban/jail.d/shoestring.conf',
  ])
    assert.ok(all.includes(want), want);
});

test.run();
