/**
 * What a server's services do when it shuts down, from their drop-ins: the database member's
 * stop waits while the uWSGI emperor has a stop job (its script run for real by sh, with a
 * `systemctl` on PATH that lists such a job for a while), and Apache's stop waits for Apache to
 * exit. The order on a real reboot is the chaos suite's (12-chaos, each server rebooted in turn).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { render } from '../../src/templates.ts';

const dir = mkdtempSync(join(tmpdir(), 'stop-order-'));

/** The one ExecStop= command line with a command, as systemd runs it ($$ is a literal $). */
function execStop(unitText: string): string {
  const lines = unitText.split('\n').filter((l) => /^ExecStop=.+/.test(l));
  assert.is(lines.length, 1, unitText);
  return (lines[0] ?? '').slice('ExecStop='.length).replace(/^\+/, '').replace(/\$\$/g, '$');
}

const mariadbOrder = (meshService: string | false) =>
  render('database/mariadb-order.conf.hbs', { meshService, waitSeconds: 3, waitTenths: 30 });

/** Runs the member's stop with a `systemctl` that lists the emperor's stop job `calls` times. */
function memberStop(calls: number): { status: number | null; asked: number } {
  const count = join(dir, 'asked');
  writeFileSync(count, '');
  writeFileSync(
    join(dir, 'systemctl'),
    `#!/bin/sh\necho x >> ${count}\n[ "$(wc -l < ${count})" -le ${calls} ] && echo '41 uwsgi-emperor.service stop waiting'\necho '42 other.service start running'\n`,
  );
  chmodSync(join(dir, 'systemctl'), 0o755);
  const line = execStop(mariadbOrder(false));
  const argv = /^\/bin\/sh -c '(.*)'$/.exec(line)?.[1];
  assert.ok(argv, line);
  const r = spawnSync('sh', ['-c', argv ?? ''], {
    env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` },
    encoding: 'utf8',
  });
  const asked = spawnSync('wc', ['-l', count], { encoding: 'utf8' }).stdout.trim().split(' ')[0];
  return { status: r.status, asked: Number(asked) };
}

test('the database member stops after the emperor when both stop (a shutdown)', () => {
  // The emperor's stop job is listed 4 times: the member's stop asks until it is gone.
  assert.equal(memberStop(4), { status: 0, asked: 5 });
});

test('the database member stopped alone stops at once; it never waits more than its limit', () => {
  assert.equal(memberStop(0), { status: 0, asked: 1 });
  // Listed for ever: it gives up after 30 tenths of a second.
  assert.equal(memberStop(1000).asked, 30);
});

test('the member stops before the private network (when there is one) and runs its stop as root', () => {
  assert.match(mariadbOrder('wg-quick@wg0.service'), /^After=wg-quick@wg0\.service$/m);
  assert.not.match(mariadbOrder(false), /After=/);
  assert.match(mariadbOrder(false), /^ExecStop=\+\/bin\/sh /m);
});

const frontOrder = (apache: boolean) =>
  render('web/front-order.conf.hbs', { limit: 30, waitScript: '/w', apache, stopSeconds: 20 });

test("Apache's stop waits for Apache to exit; nginx keeps its own (graceful) stop", () => {
  const line = execStop(frontOrder(true));
  assert.match(line, /apachectl graceful-stop; while \[ -n "\$pid" \] && kill -0 "\$pid"/);
  assert.match(frontOrder(true), /^ExecStop=$/m, 'the packaged ExecStop is replaced');
  assert.not.match(frontOrder(false), /ExecStop/);
  assert.match(frontOrder(false), /^TimeoutStopSec=20$/m);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
