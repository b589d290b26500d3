/**
 * Chaos under load ("reboot any server at random and nothing breaks"), on the 3 database
 * servers the earlier suites left (DATABASE=galera): while browsers-like clients read app1,
 * read app2's rows and write rows (load.ts), a random server is cut off silently, another
 * crashes, a link flaps, the duty holder dies, each server reboots in turn, every server stops
 * and starts, and finally every server is destroyed and the cluster is re-created from the
 * backup that left it, with the README's disaster-recovery commands. One table at the end;
 * each scenario fails when it misses the goals (chaos.ts GOALS).
 *
 * CHAOS_LONG=1 also runs every single-server scenario on 5 servers, and repeats the random
 * silent failure three times (about 30 minutes more).
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { on } from './helpers.ts';
import {
  currentLab,
  dutyHolder,
  lab as labCmd,
  missedGoals,
  provisionAsync,
  rowsEverywhere,
  scenario,
  table,
  waitClean,
  type Lab,
  type Row,
} from './chaos.ts';
import { labUp, runCommand } from './provision-helpers.ts';
import { envFile, forgetLabCa, sleep } from './stack-checks.ts';

const LONG = process.env['CHAOS_LONG'] === '1';
const rows: Row[] = [];
let lab: Lab;
let env = '';

const dbArgs = (): string[] => ['--servers', '.lab/servers.txt', '--env', env];

async function setUp(n: number): Promise<void> {
  labUp(n);
  env = envFile({ DATABASE: 'galera' });
  lab = currentLab();
  await provisionAsync(dbArgs());
  await waitClean(lab, 240);
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
const nameOf = (a: string): string => lab.names.get(a) ?? a;

function check(row: Row): void {
  rows.push(row);
  const missed = missedGoals(row);
  assert.equal(missed, [], `${row.scenario} on ${row.servers}: ${missed.join(' · ')}`);
}

/** A random server broken with `lab <cut>`, left so `seconds`, then `lab <mend>`. */
async function cutAndMend(
  title: string,
  cut: string,
  mend: string,
  seconds: number,
): Promise<void> {
  const victim = nameOf(pick(lab.addresses));
  check(
    await scenario(lab, `${victim} ${title}`, async (run) => {
      await labCmd(cut, victim);
      run.failure();
      await sleep(seconds * 1000);
      await labCmd(mend, victim);
      run.recovery();
    }),
  );
}

const silentFailure = (): Promise<void> =>
  cutAndMend('cut off silently for 30 s', 'partition', 'heal', 30);
const crash = (): Promise<void> => cutAndMend('crashes, boots 20 s later', 'kill', 'start', 20);
const flap = (): Promise<void> =>
  cutAndMend('cut off for 5 s, then healed', 'partition', 'heal', 5);

async function holderDies(): Promise<void> {
  const holder = await dutyHolder(lab.addresses[0] ?? '');
  check(
    await scenario(lab, `the duty holder (${holder}) crashes`, async (run) => {
      await labCmd('kill', holder);
      run.failure();
      await sleep(20_000);
      // The duties moved: another server holds them.
      const other = lab.addresses.find((a) => nameOf(a) !== holder) ?? '';
      const now = await dutyHolder(other);
      assert.is.not(now, holder, 'the duties did not move');
      await labCmd('start', holder);
      run.recovery();
    }),
  );
}

async function rebootEach(): Promise<void> {
  check(
    await scenario(lab, 'each server rebooted in turn', async (run) => {
      for (const a of lab.addresses) {
        await labCmd('reboot', nameOf(a));
        run.failure();
        await sleep(5_000);
        await waitClean(lab, 180);
        run.recovery();
        // Its front started only once its router had an instance of every app.
        const j = await on(a, 'journalctl -b -o cat -u apache2 | grep wait-for-router');
        assert.match(j.out, /routes every app \([1-9]\d*\) after/, `${nameOf(a)}: ${j.out}`);
      }
    }),
  );
}

async function allStopped(): Promise<void> {
  check(
    await scenario(
      lab,
      'every server stopped, then started',
      async (run) => {
        await Promise.all(lab.addresses.map((a) => labCmd('stop', nameOf(a))));
        run.failure();
        await Promise.all(lab.addresses.map((a) => labCmd('start', nameOf(a))));
        run.recovery();
        // The one documented command: provision finds every member stopped and bootstraps the
        // database from the most advanced one.
        await provisionAsync(dbArgs());
      },
      { manual: './provision.ts', single: false, cleanLimitS: 240 },
    ),
  );
}

/**
 * The README's "Disaster recovery", command for command: a backup pulled off the cluster,
 * every server destroyed, fresh servers, one provision, one restore.
 */
async function disaster(): Promise<void> {
  const before = (await rowsEverywhere(lab))[0] ?? new Set<string>();
  assert.ok(before.size > 0, 'no rows to lose');
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-backups-'));
  const t0 = performance.now();
  const run = (cmd: string, args: string[]): void => {
    const r = runCommand(cmd, args);
    assert.is(r.status, 0, `${cmd} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  };
  run('scripts/backup.ts', ['now', ...dbArgs()]);
  run('scripts/backup.ts', ['pull', ...dbArgs(), '--to', dir]);
  const [file] = readdirSync(dir).filter((f) => f.endsWith('.sql.gz'));
  assert.ok(file, `no backup pulled into ${dir}`);
  run('scripts/lab.ts', ['down']);
  run('scripts/lab.ts', ['up', '3']);
  forgetLabCa();
  env = envFile({ DATABASE: 'galera' });
  lab = currentLab();
  const recovered = performance.now();
  run('provision.ts', dbArgs());
  run('scripts/backup.ts', ['restore', join(dir, file), ...dbArgs(), '--yes']);
  const cleanS = (performance.now() - recovered) / 1000 + (await waitClean(lab, 240));
  const after = await rowsEverywhere(lab);
  const lost = [...before].filter((t) => after.some((rows) => !rows.has(t)));
  const none = { requests: 0, failed: 0, rate: 0, examples: [] };
  check({
    scenario: `disaster: every server destroyed, re-created from the backup (${((performance.now() - t0) / 1000).toFixed(0)} s in all)`,
    servers: 3,
    during: none,
    after: none,
    cleanS,
    manual: 'README: Disaster recovery (4 commands)',
    acked: before.size,
    lost: lost.length,
    single: false,
  });
}

test.before(async () => {
  await setUp(3);
});

test.after(() => {
  console.log(`\nChaos under load (reads and writes, browser-like clients):\n${table(rows)}\n`);
});

test('3 servers: a random server cut off silently (partition) for 30 s', silentFailure);
test('3 servers: a random server crashes (kill)', crash);
test('3 servers: a link flaps (5 s partition, then heal)', flap);
test('3 servers: the duty holder crashes', holderDies);
test('3 servers: each server rebooted in turn', rebootEach);
test('3 servers: every server stopped then started; one provision', allStopped);

if (LONG) {
  test('5 servers (CHAOS_LONG): two more servers join, one provision', () => setUp(5));
  test('5 servers: a random server cut off silently, three times', async () => {
    for (let i = 0; i < 3; i++) await silentFailure();
  });
  test('5 servers: a random server crashes', crash);
  test('5 servers: a link flaps', flap);
  test('5 servers: the duty holder crashes', holderDies);
  test('5 servers: each server rebooted in turn', rebootEach);
  test('5 servers: every server stopped then started; one provision', allStopped);
}

test('disaster: every server destroyed; one provision and one restore bring back every row', async () => {
  await disaster();
  const s1 = lab.addresses[0] ?? '';
  assert.is((await on(s1, 'systemctl is-active mariadb')).out, 'active');
});

test.run();
