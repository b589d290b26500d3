// The rendered shoestring-firewall helper, run for real: rulesets loaded in a throw-away network
// namespace, TCP connections made from a second one, a 4 s rollback (a background sleep stands
// in for the systemd timer). Skipped, and counted as skipped, where it cannot run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helperScript } from '../../src/firewall/helper.ts';
import { renderRuleset, rulesetHash, type FirewallPlan } from '../../src/firewall/ruleset.ts';
import { NetnsPair, netnsUnavailable } from './fixtures/netns.ts';

const SSH = 22;
const OTHER = 8080;
// Long enough for the checks made while a bad ruleset is loaded (about 2 s on a busy machine):
// a check overlapping the rollback would see the restored ruleset.
const DELAY = 4;

const good: FirewallPlan = {
  cluster: [],
  rules: [],
  open: [{ why: 'ssh', ports: { proto: 'tcp', numbers: [SSH] } }],
};
/** Cuts new SSH connections (a FIREWALL_RULES mistake). */
const bad: FirewallPlan = { ...good, rules: [`tcp dport ${SSH} drop`] };
const GOOD = renderRuleset(good);
const BAD = renderRuleset(bad);

const unavailable = netnsUnavailable();
if (unavailable) {
  console.log(`firewall-netns: skipped: ${unavailable}`);
  test.skip('try, confirm and rollback in a network namespace', () => undefined);
} else {
  const net = new NetnsPair();
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-firewall-'));
  const helper = join(dir, 'shoestring-firewall');
  const file = join(dir, 'etc', 'firewall.nft');
  let state = join(dir, 'state');
  const env = () => ({
    SHOESTRING_FIREWALL_FILE: file,
    SHOESTRING_FIREWALL_STATE: state,
    SHOESTRING_FIREWALL_DELAY: String(DELAY),
    SHOESTRING_FIREWALL_TIMER: 'sleep',
  });
  const fw = (cmd: string, more: Record<string, string> = {}) =>
    net.inServer([helper, cmd], { ...env(), ...more });
  // A systemd-run that fails (the real one must never run here: its timer would fire in this
  // machine's own network namespace).
  const failingTimer = () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'systemd-run'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    writeFileSync(join(bin, 'systemctl'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    return { PATH: `${bin}:${process.env['PATH'] ?? ''}`, SHOESTRING_FIREWALL_TIMER: 'systemd' };
  };
  const loaded = () =>
    rulesetHash(net.inServer(['nft', 'list', 'table', 'inet', 'shoestring']).out);
  const write = (text: string) => writeFileSync(file, text);
  /** Waits (bounded) until the armed rollback has run. */
  const rolledBack = async () => {
    for (let i = 0; i < 50 && existsSync(join(state, 'pending')); i++)
      await new Promise((r) => setTimeout(r, 200));
    assert.not.ok(existsSync(join(state, 'pending')), 'the rollback ran');
  };

  test.before(async () => {
    writeFileSync(helper, helperScript(), { mode: 0o700 });
    mkdirSync(join(dir, 'etc'));
    net.up();
    await net.listen([SSH, OTHER]);
  });

  test.after(() => {
    for (const s of [join(dir, 'state'), join(dir, 'state2')]) {
      const pid = existsSync(join(s, 'rollback.pid')) ? readFileSync(join(s, 'rollback.pid')) : '';
      if (String(pid).trim()) spawnKill(String(pid).trim());
    }
    net.down();
    rmSync(dir, { recursive: true, force: true });
  });

  test('boot with nothing confirmed loads nothing: everything gets through', () => {
    write(GOOD);
    assert.is(fw('boot').code, 0);
    assert.is(loaded(), undefined);
    assert.ok(net.connects(SSH) && net.connects(OTHER));
  });

  test('try loads the ruleset (SSH in, the rest dropped); confirm keeps it; twice is fine', () => {
    const tried = fw('try');
    assert.is(tried.code, 0, tried.err);
    assert.is(loaded(), rulesetHash(GOOD));
    assert.ok(net.connects(SSH), 'a new SSH connection gets through');
    assert.not.ok(net.connects(OTHER), 'port 8080 is dropped');
    assert.match(fw('status').out, /^pending/);
    assert.is(fw('confirm').out.trim(), 'confirmed');
    assert.is(fw('confirm').out.trim(), 'ok');
    assert.is(readFileSync(join(state, 'confirmed.nft'), 'utf8'), GOOD);
    assert.match(fw('status').out, /^ok /);
    assert.is(fw('status').code, 0);
  });

  test('a ruleset cutting new SSH connections is rolled back; the open one lives on', async () => {
    const open = await net.open(SSH);
    write(BAD);
    assert.is(fw('try').code, 0);
    assert.is(loaded(), rulesetHash(BAD));
    assert.ok(await open.echo(), 'the established connection still works');
    assert.not.ok(net.connects(SSH), 'new SSH connections are dropped');
    await rolledBack();
    const out = fw('confirm');
    assert.is(out.code, 1);
    assert.match(out.out, /^rolled-back \S+Z: not confirmed within 4 s/);
    assert.match(out.out, /rejected\.nft/);
    assert.is(loaded(), rulesetHash(GOOD), 'the confirmed ruleset is back');
    assert.ok(net.connects(SSH), 'new SSH connections get through again');
    assert.is(readFileSync(file, 'utf8'), GOOD, 'the ruleset file is the confirmed one again');
    assert.is(readFileSync(join(state, 'rejected.nft'), 'utf8'), BAD, 'the rejected one is kept');
  });

  test('rollback and boot again change nothing; a new try clears the rolled-back report', () => {
    for (const cmd of ['rollback', 'rollback', 'boot', 'boot']) {
      assert.is(fw(cmd).code, 0, cmd);
      assert.is(loaded(), rulesetHash(GOOD), cmd);
    }
    assert.match(fw('confirm').out, /^rolled-back/);
    assert.is(fw('try').code, 0);
    assert.is(fw('try').code, 0, 'a second try re-arms');
    assert.is(fw('confirm').out.trim(), 'confirmed');
    assert.not.ok(existsSync(join(state, 'rollback.pid')), 'no rollback left armed');
  });

  test('a try whose rollback cannot be armed loads nothing new, and undoes a pending try', () => {
    write(BAD);
    assert.is(fw('try').code, 0);
    assert.is(loaded(), rulesetHash(BAD));
    const r = fw('try', failingTimer());
    assert.is(r.code, 1);
    assert.match(r.err, /could not arm the rollback/);
    assert.is(loaded(), rulesetHash(GOOD), 'the confirmed ruleset, not the pending try');
    assert.not.ok(existsSync(join(state, 'pending')));
    assert.not.ok(existsSync(join(state, 'rollback.pid')), 'the earlier rollback was disarmed');
    assert.is(fw('confirm').out.trim(), 'ok');
  });

  test('a restart during a try: boot rolls it back and says why', () => {
    write(BAD);
    assert.is(fw('try').code, 0);
    // The restart: the timer and the loaded table are gone.
    spawnKill(readFileSync(join(state, 'rollback.pid'), 'utf8').trim());
    net.inServer(['nft', 'delete', 'table', 'inet', 'shoestring']);
    assert.is(fw('boot').code, 0);
    assert.is(loaded(), rulesetHash(GOOD));
    assert.match(fw('confirm').out, /^rolled-back .*the server restarted before/);
  });

  test('nothing ever confirmed: the rollback removes the table and the file', async () => {
    state = join(dir, 'state2');
    net.inServer(['nft', 'delete', 'table', 'inet', 'shoestring']);
    write(BAD);
    assert.is(fw('try').code, 0);
    assert.is(loaded(), rulesetHash(BAD));
    await rolledBack();
    assert.is(loaded(), undefined);
    assert.not.ok(existsSync(file));
    assert.ok(net.connects(SSH));
    assert.is(fw('rollback').code, 0, 'and again');
  });
}

/** Ends a rollback sleeper the helper started (its own process group). */
function spawnKill(pid: string): void {
  if (/^\d+$/.test(pid)) {
    try {
      process.kill(-Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

test.run();
