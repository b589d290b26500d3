/**
 * The engine against real servers: a converged cluster costs one probe per host and rolls
 * nobody; a restart left pending on a server is finished by the next run; Ctrl-C during an etcd
 * configuration change stops after the running phase and a re-run leaves etcd on the new
 * configuration; a server cut off in the middle of an apply converges on the next run; a second
 * operator is refused while a run holds the lock, and a killed holder's lock expires; bad apps/
 * input is refused before any server is touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { on } from './helpers.ts';
import { events, labUp, runCommand, totals, type JsonEvent } from './provision-helpers.ts';
import { labAddresses, sleep } from './stack-checks.ts';

let addrs: string[] = [];
/** provision's arguments: the lab's 3 servers, JSON events. */
let lab: string[] = [];

/** A provision running in the background; resolves events as they are printed. */
interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Resolves with the first event matching `pred` (rejects when the run ends first). */
  until(pred: (e: JsonEvent) => boolean): Promise<JsonEvent>;
}

function start(args: readonly string[]): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', 'provision.ts', ...args], {
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { pred: (e: JsonEvent) => boolean; resolve: (e: JsonEvent) => void }[] = [];
  child.stdout?.on('data', (d: Buffer) => {
    const before = stdout.length;
    stdout += d.toString();
    const fresh = stdout.slice(stdout.lastIndexOf('\n', before) + 1);
    for (const e of events(fresh.split('\n').slice(0, -1).join('\n'))) {
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    }
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) =>
    child.on('close', (code) => r({ code, stdout, stderr })),
  );
  return {
    child,
    done,
    until: (pred) =>
      new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        void done.then((res) =>
          reject(new Error(`provision ended first (${res.code}):\n${res.stdout}\n${res.stderr}`)),
        );
      }),
  };
}

/** Seconds since the epoch at which the running etcd started, and its env file's mtime. */
async function etcdTimes(a: string): Promise<{ started: number; written: number }> {
  const r = await on(
    a,
    'pid=$(systemctl show -p MainPID --value etcd); echo $(( $(date +%s) - $(ps -o etimes= -p "$pid") )) $(stat -c %Y /etc/default/etcd)',
  );
  const [started = NaN, written = NaN] = r.out.split(/\s+/).map(Number);
  return { started, written };
}

test.before(() => {
  // The cluster the earlier suites left (converged: a no-op), or fresh servers when run alone.
  labUp(3);
  addrs = labAddresses();
  lab = ['--lab', '--json'];
  const first = runCommand('provision.ts', lab);
  if (first.status !== 0) throw new Error(`provision failed:\n${first.stdout}\n${first.stderr}`);
});

test('a converged cluster: 0 changes, no host is rolled (no phase run, no gate)', () => {
  const res = runCommand('provision.ts', lab);
  assert.is(res.status, 0, res.stderr);
  assert.is(totals(res.stdout).changed, 0);
  const ev = events(res.stdout);
  assert.is(ev.filter((e) => e.type === 'phase').length, 0, 'no phase ran');
  assert.not.ok(
    ev.some((e) => e.type === 'stage' && /^(Provision|Group)/.test(String(e['title']))),
  );
});

test('a restart recorded on a server and never done is finished by the next run', async () => {
  const [s1 = ''] = addrs;
  await on(s1, 'install -d /run/shoestring/pending && touch /run/shoestring/pending/etcd.restart');
  const before = await etcdTimes(s1);
  await sleep(1100);
  const res = runCommand('provision.ts', lab);
  assert.is(res.status, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /restart etcd \(left pending by an interrupted run\)/);
  const after = await etcdTimes(s1);
  assert.ok(after.started > before.started, 'etcd was restarted');
  assert.is((await on(s1, 'ls /run/shoestring/pending | wc -l')).out, '0');
});

test('Ctrl-C during an etcd configuration change, then a re-run: etcd runs the new configuration', async () => {
  for (const a of addrs) await on(a, "echo '# changed by hand' >> /etc/default/etcd");
  await sleep(1100);
  const run = start(lab);
  await run.until(
    (e) => e.type === 'change' && /update \/etc\/default\/etcd/.test(String(e['summary'])),
  );
  run.child.kill('SIGINT');
  const res = await run.done;
  assert.is(res.code, 130, res.stdout + res.stderr);
  assert.match(res.stderr, /Ctrl-C: stopping after the running phases/);
  assert.match(res.stdout, /not started: |left for the next run: /);
  const again = runCommand('provision.ts', lab);
  assert.is(again.status, 0, again.stdout + again.stderr);
  for (const a of addrs) {
    assert.is((await on(a, 'grep -c "changed by hand" /etc/default/etcd || true')).out, '0', a);
    const t = await etcdTimes(a);
    assert.ok(t.started >= t.written, `${a}: etcd started before its configuration was written`);
  }
  assert.is(totals(runCommand('provision.ts', lab).stdout).changed, 0);
});

test('a server cut off for 20 s in the middle of an apply converges on the next run', async () => {
  const s2 = addrs[1] ?? '';
  // A slow change on s2: a package the apps need, to install again (nothing depends on it;
  // base packages such as procps would take openssh-server with them).
  await on(s2, 'apt-get remove -y -q python3-flask >/dev/null 2>&1');
  const run = start([...lab, '--percent', '1']);
  await run.until(
    (e) => e.type === 'phase' && e['host'] === s2 && e['phase'] === 'Install packages',
  );
  runCommand('scripts/lab.ts', ['partition', s2]);
  await sleep(20_000);
  runCommand('scripts/lab.ts', ['heal', s2]);
  const res = await run.done;
  assert.ok(res.code === 0 || res.code === 1, `exit ${res.code}`);
  const next = runCommand('provision.ts', lab);
  assert.is(next.status, 0, next.stdout + next.stderr);
  const last = runCommand('provision.ts', lab);
  assert.is(totals(last.stdout).changed, 0, last.stdout);
  assert.is(
    (await on(s2, "dpkg-query -W -f='${db:Status-Abbrev}' python3-flask")).out.trim(),
    'ii',
  );
});

test('a second operator is refused, naming the holder; a killed holder’s lock expires', async () => {
  // The holder's LOCK_TTL is short (25 s); runs with the default (60 s) respect it: its record
  // carries it.
  const shortEnv = '.lab/.env.short-lock';
  writeFileSync(shortEnv, `${readFileSync('.lab/.env', 'utf8')}\nLOCK_TTL=25\n`);
  const holder = start(['--servers', '.lab/servers.txt', '--env', shortEnv, '--json']);
  await holder.until((e) => e.type === 'info' && /operator lock held/.test(String(e['message'])));
  holder.child.kill('SIGSTOP');
  const stopped = Date.now();
  try {
    const second = runCommand('provision.ts', lab);
    assert.is(second.status, 1, second.stdout + second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `the cluster is locked by root@\\S+ \\(pid ${holder.child.pid}, \\./provision\\.ts\\) since`,
      ),
    );
    assert.match(second.stderr, /--break-lock/);
  } finally {
    holder.child.kill('SIGKILL');
  }
  await holder.done;
  // Still held: a killed holder does not release; its lease and file expire 25 s after its
  // last refresh (before it was stopped).
  const still = runCommand('provision.ts', lab);
  assert.is(still.status, 1, still.stdout + still.stderr);
  assert.match(still.stderr, /expires 25 s after its last refresh/);
  assert.ok(Date.now() - stopped < 25_000, 'the refusals took longer than the TTL');
  // Gone soon after: the last refresh may have been on its way at the stop, the file's age is
  // in whole seconds and etcd revokes expired leases on its own beat, so it is asked again.
  await sleep(Math.max(0, 25_000 - (Date.now() - stopped)));
  let after = runCommand('provision.ts', lab);
  while (after.status !== 0 && Date.now() - stopped < 45_000) {
    await sleep(2000);
    after = runCommand('provision.ts', lab);
  }
  rmSync(shortEnv);
  assert.is(after.status, 0, after.stdout + after.stderr);
});

test('an app file name that would inject shell is refused before any server is touched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-apps-'));
  try {
    cpSync('apps', dir, { recursive: true });
    // The name holds slashes: a folder "x'$(touch " with tmp/pwned)' below it.
    const bad = join(dir, 'app1', "x'$(touch /tmp/pwned)'");
    mkdirSync(dirname(bad), { recursive: true });
    writeFileSync(bad, 'x\n');
    const res = runCommand('provision.ts', ['--lab', '--dry-run'], 60_000, {
      SHOESTRING_APPS_DIR: dir,
    });
    assert.is(res.status, 2, res.stdout + res.stderr);
    assert.match(
      res.stderr,
      /app1\/x'\$\(touch \/tmp\/pwned\)': the name "x'\$\(touch " may use only/,
    );
    assert.not.match(res.stdout, /Preflight/);
    for (const a of addrs)
      assert.is((await on(a, 'test -e /tmp/pwned && echo yes || echo no')).out, 'no', a);
    assert.not.ok(existsSync('/tmp/pwned'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
