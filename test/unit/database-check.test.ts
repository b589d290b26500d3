/**
 * The database member's check (templates/database/dbcheck.sh.hbs), run for real by bash with
 * the member's answers given: a `mariadb` on PATH that prints the status lines a member in that
 * state prints. The state transfer's script is looked for with the real `pgrep`: a process that
 * carries the rsync donor's command line stands for it. A real member's answers are checked
 * on the lab (10-database).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { render } from '../../src/templates.ts';

const dir = mkdtempSync(join(tmpdir(), 'dbcheck-'));
const script = join(dir, 'dbcheck');
writeFileSync(script, render('database/dbcheck.sh.hbs', {}), { mode: 0o755 });

interface Member {
  readonly state: number;
  readonly cluster?: string;
  readonly ready?: string;
  readonly desync?: number;
}

/** The check's answer (status line and body) for a member that answers `m`. */
function ask(m: Member | 'down'): string {
  const fake = join(dir, 'mariadb');
  const lines =
    m === 'down'
      ? 'echo "ERROR 2002 (HY000): Can\'t connect" >&2; exit 1'
      : `printf 'wsrep_local_state\\t${m.state}\\nwsrep_cluster_status\\t${m.cluster ?? 'Primary'}\\nwsrep_ready\\t${m.ready ?? 'ON'}\\nwsrep_desync\\t${m.desync ?? 0}\\n'`;
  writeFileSync(fake, `#!/bin/bash\n${lines}\n`);
  chmodSync(fake, 0o755);
  const r = spawnSync('bash', [script], {
    input: 'GET / HTTP/1.0\r\nHost: x\r\n\r\n',
    env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` },
    encoding: 'utf8',
  });
  const [status = '', ...rest] = r.stdout.split('\r\n');
  const body = rest.slice(rest.indexOf('') + 1).join('');
  const length = /Content-Length: (\d+)/.exec(r.stdout)?.[1];
  assert.is(Number(length), Buffer.byteLength(body), `Content-Length of ${JSON.stringify(body)}`);
  return `${status} ${body.trim()}`;
}

test('Synced in a primary component: 200', () => {
  assert.is(ask({ state: 4 }), 'HTTP/1.0 200 OK Synced');
});

test('a donor of an incremental transfer (no transfer script runs): 200', () => {
  assert.is(ask({ state: 2 }), 'HTTP/1.0 200 OK IST donor');
});

test('a donor of a full rsync transfer (its script runs, with a read lock): 503', () => {
  // The server runs the script through `sh -c` with the role quoted; pgrep sees both forms.
  for (const argv0 of [
    "wsrep_sst_rsync --role 'donor' --address 10.88.0.3:4444/rsync_sst",
    'wsrep_sst_rsync --role donor',
  ]) {
    const p = spawn('bash', ['-c', `exec -a "${argv0}" sleep 30`]);
    try {
      // Until exec has happened, pgrep would not see it yet.
      for (let i = 0; i < 100; i++) {
        if (spawnSync('pgrep', ['-f', '^wsrep_sst_rsync --role']).status === 0) break;
        spawnSync('sleep', ['0.02']);
      }
      assert.is(ask({ state: 2 }), 'HTTP/1.0 503 Service Unavailable Not synced', argv0);
    } finally {
      p.kill();
    }
  }
});

test('desynced by hand, joining, not primary, not ready, or no answer: 503', () => {
  const no = 'HTTP/1.0 503 Service Unavailable Not synced';
  assert.is(ask({ state: 2, desync: 1 }), no);
  assert.is(ask({ state: 1 }), no);
  assert.is(ask({ state: 3 }), no);
  assert.is(ask({ state: 4, cluster: 'non-Primary' }), no);
  assert.is(ask({ state: 4, ready: 'OFF' }), no);
  assert.is(ask('down'), no);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
