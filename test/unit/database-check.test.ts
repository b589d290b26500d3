/**
 * The database member's check (templates/database/dbcheck.py.hbs), run for real by python3 on
 * a loopback port and asked over HTTP as HAProxy asks it, with the member's answers given: a
 * `mariadb` on PATH that answers each of the check's queries with the status lines of the state
 * the test writes to a file (the check keeps one session open, so the state may change under
 * it). The state transfer's script is looked for in /proc: a process that carries the rsync
 * donor's command line stands for it. A real member's answers are checked on the lab
 * (10-database, 12-chaos).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DBCHECK_TIMING } from '../../src/components/database-galera.ts';
import { render } from '../../src/templates.ts';

const dir = mkdtempSync(join(tmpdir(), 'dbcheck-'));
const script = join(dir, 'dbcheck');
const stateFile = join(dir, 'state');
writeFileSync(script, render('database/dbcheck.py.hbs', DBCHECK_TIMING), { mode: 0o755 });
// The fake client: answers every line that holds the last query (Uptime) with the state file,
// as `mariadb -N -B` prints a member's rows; `down` in the file: it cannot connect; `hang`: it
// answers nothing; it counts its starts in a file (one session for many checks).
writeFileSync(
  join(dir, 'mariadb'),
  `#!/bin/bash
echo started >> ${JSON.stringify(join(dir, 'starts'))}
while IFS= read -r line; do
  case "$(cat ${JSON.stringify(stateFile)})" in
    down) echo "ERROR 2002 (HY000): Can't connect" >&2; exit 1 ;;
    hang) exec sleep 30 ;;
  esac
  case "$line" in *Uptime*) cat ${JSON.stringify(stateFile)} ;; esac
done
`,
);
chmodSync(join(dir, 'mariadb'), 0o755);

interface Member {
  readonly state: number;
  readonly cluster?: string;
  readonly ready?: string;
  readonly desync?: string;
}

function setMember(m: Member | 'down' | 'hang'): void {
  writeFileSync(
    stateFile,
    typeof m === 'string'
      ? m
      : `wsrep_local_state\t${m.state}\nwsrep_cluster_status\t${m.cluster ?? 'Primary'}\nwsrep_ready\t${m.ready ?? 'ON'}\nwsrep_desync\t${m.desync ?? 'OFF'}\nUptime\t42\n`,
  );
}

let daemon: ChildProcess | undefined;
let port = 0;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** One check as HAProxy makes it: the status line and the body. */
function ask(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    s.setTimeout(3000, () => s.destroy(new Error('no answer')));
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', reject);
    s.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const length = /Content-Length: (\d+)/.exec(head)?.[1];
      if (Number(length) !== Buffer.byteLength(body))
        reject(new Error(`Content-Length ${length} of ${JSON.stringify(body)}`));
      resolve(`${head.split('\r\n')[0] ?? ''} ${body.trim()}`);
    });
  });
}

/** The answer once it is `want` (the check asks its member every 0.5 s), else the last one. */
async function answerFor(m: Member | 'down' | 'hang', want: string): Promise<string> {
  setMember(m);
  let last = '';
  for (let i = 0; i < 50; i++) {
    last = await ask().catch((e: unknown) => String(e));
    if (last === want) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

const SYNCED = 'HTTP/1.0 200 OK Synced';
const NO = 'HTTP/1.0 503 Service Unavailable Not synced';

test.before(async () => {
  setMember({ state: 4 });
  port = await freePort();
  daemon = spawn('python3', [script, '127.0.0.1', String(port)], {
    env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` },
    stdio: 'ignore',
  });
  for (let i = 0; i < 50 && (await ask().catch(() => '')) === ''; i++)
    await new Promise((r) => setTimeout(r, 100));
});

test.after(() => {
  daemon?.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('Synced in a primary component: 200; many checks, one client session', async () => {
  assert.is(await answerFor({ state: 4 }, SYNCED), SYNCED);
  for (let i = 0; i < 10; i++) assert.is(await ask(), SYNCED);
  const starts = spawnSync('wc', ['-l', join(dir, 'starts')], { encoding: 'utf8' });
  assert.is(starts.stdout.trim().split(' ')[0], '1');
});

test('a donor of an incremental transfer (its script runs with --bypass): 200', async () => {
  const want = 'HTTP/1.0 200 OK IST donor';
  assert.is(await answerFor({ state: 2 }, want), want);
  const p = spawn('bash', [
    '-c',
    `exec -a "wsrep_sst_rsync --role 'donor' --address 10.88.0.3:4444/rsync_sst --bypass" sleep 30`,
  ]);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    assert.is(await ask(), want);
  } finally {
    p.kill();
  }
});

test('a donor of a full rsync transfer (its script runs, with a read lock): 503', async () => {
  // The server runs the script through `sh -c` with the role quoted; both forms are seen.
  for (const argv0 of [
    "wsrep_sst_rsync --role 'donor' --address 10.88.0.3:4444/rsync_sst",
    'wsrep_sst_rsync --role donor',
  ]) {
    const p = spawn('bash', ['-c', `exec -a "${argv0}" sleep 30`]);
    try {
      assert.is(await answerFor({ state: 2 }, NO), NO, argv0);
    } finally {
      p.kill();
    }
    assert.is(await answerFor({ state: 4 }, SYNCED), SYNCED);
  }
});

test('desynced by hand, joining, joined, not primary, not ready: 503', async () => {
  for (const m of [
    { state: 2, desync: 'ON' },
    { state: 1 },
    { state: 3 },
    { state: 4, cluster: 'non-Primary' },
    { state: 4, ready: 'OFF' },
  ]) {
    assert.is(await answerFor(m, NO), NO, JSON.stringify(m));
    assert.is(await answerFor({ state: 4 }, SYNCED), SYNCED);
  }
});

test('a member that is down, or does not answer in time: 503; back: 200 again', async () => {
  assert.is(await answerFor('down', NO), NO);
  assert.is(await answerFor({ state: 4 }, SYNCED), SYNCED);
  assert.is(await answerFor('hang', NO), NO);
  assert.is(await answerFor({ state: 4 }, SYNCED), SYNCED);
});

test.run();
