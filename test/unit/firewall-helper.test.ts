// The helper script and unit as rendered (bash -n, the settings that matter), and the confirm
// gate's verdict. The helper itself runs for real in firewall-netns.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { helperScript, unitFile } from '../../src/firewall/helper.ts';
import { GateError } from '../../src/errors.ts';
import { confirmVerdict, ROLLED_BACK_HINT } from '../../src/firewall/verdict.ts';

test('the helper is bash -n clean', () => {
  const r = spawnSync('bash', ['-n'], { input: helperScript(), encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

test('bash -n does catch a broken script (the check above means something)', () => {
  const r = spawnSync('bash', ['-n'], {
    input: `${helperScript()}\nif true; then\n`,
    encoding: 'utf8',
  });
  assert.is.not(r.status, 0);
});

test('the helper: real paths and a 20 s rollback by default, every subcommand', () => {
  const text = helperScript();
  assert.match(text, /^DEFAULT_FILE='\/etc\/shoestring\/firewall\.nft'$/m);
  assert.match(text, /^DEFAULT_STATE='\/var\/lib\/shoestring\/firewall'$/m);
  assert.match(text, /^DEFAULT_DELAY='20'$/m);
  assert.match(text, /^TABLE='inet shoestring'$/m);
  assert.match(text, /--unit="\$UNIT" --on-active="\$DELAY" --timer-property=AccuracySec=1s/);
  assert.match(text, /^UNIT='shoestring-firewall-rollback'$/m);
  for (const cmd of ['boot', 'start', 'try', 'confirm', 'rollback', 'status'])
    assert.match(text, new RegExp(`^cmd_${cmd}\\(\\) \\{$`, 'm'), cmd);
  assert.match(text, /logger -t shoestring-firewall/);
  assert.not.match(text, /flush ruleset/);
});

test('the unit: oneshot, start (boot, or try a never confirmed file), try on reload, before the network', () => {
  const lines = unitFile()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(lines, [
    '[Unit]',
    'Description=Shoestring firewall (nftables table inet shoestring)',
    'DefaultDependencies=no',
    'After=local-fs.target',
    'Wants=network-pre.target',
    'Before=network-pre.target shutdown.target',
    'Conflicts=shutdown.target',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    'ExecStart=/usr/local/sbin/shoestring-firewall start',
    'ExecReload=/usr/local/sbin/shoestring-firewall try',
    '[Install]',
    'WantedBy=multi-user.target',
  ]);
});

test('verdict: confirmed and ok pass; other answers are polled again, saying why', () => {
  assert.is(confirmVerdict('s1', 'confirmed\n'), undefined);
  assert.is(confirmVerdict('s1', '\nok\n'), undefined);
  assert.is(
    confirmVerdict('s1', 'unconfirmed: the loaded table (none) is not the ruleset being tried\n'),
    'unconfirmed: the loaded table (none) is not the ruleset being tried',
  );
  assert.is(confirmVerdict('s1', ''), 'shoestring-firewall confirm printed nothing');
  assert.is(confirmVerdict('s1', 'okay\n'), 'okay');
});

test('verdict: rolled-back stops the gate at once, with when, why and the hint', () => {
  const out =
    'rolled-back 2026-01-02T03:04:05Z: not confirmed within 20 s (no new SSH connection could be made); the rejected ruleset (abc) is in /var/lib/shoestring/firewall/rejected.nft\n';
  try {
    confirmVerdict('root@s1', out);
    assert.unreachable('a rolled-back try must throw');
  } catch (e) {
    assert.instance(e, GateError);
    const err = e as GateError;
    assert.match(
      err.message,
      /^root@s1: the new firewall ruleset was rolled back: no new SSH connection could be made while it was loaded; the previous ruleset is back \(2026-01-02T03:04:05Z: not confirmed/,
    );
    assert.match(err.message, /rejected\.nft\)$/);
    assert.is(err.hint, ROLLED_BACK_HINT);
    assert.match(err.hint ?? '', /FIREWALL_RULES and SSH_ALLOW_FROM in \.env/);
  }
});

test.run();
