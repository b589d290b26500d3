/**
 * The test command. `unit`: type check, lint/format check, unit suites. `lab`: the lab suites
 * (real servers; needs root). `all`: both. Ends with one plain line `N passed, N failed`
 * (`, N skipped` when any were), and exits non-zero when anything failed.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

type Mode = 'unit' | 'lab' | 'all';
const mode = (process.argv[2] ?? 'all') as Mode;
if (!['unit', 'lab', 'all'].includes(mode)) {
  console.error(`usage: test/run.ts unit|lab|all`);
  process.exit(2);
}

let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
/** Seconds each step took, printed at the end: where the time of a CI run goes. */
const timings: [string, number][] = [];
/** Seconds each lab test took (from one uvu mark, `•` or `✘`, to the next); the slowest are printed. */
const testTimes: [string, number][] = [];

function run(
  cmd: string,
  args: string[],
  opts: { onData?: (chunk: string) => void; echo?: boolean } = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const tee = (d: Buffer) => {
      output += d.toString();
      opts.onData?.(d.toString());
      if (opts.echo ?? true) process.stdout.write(d);
    };
    child.stdout.on('data', tee);
    child.stderr.on('data', tee);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * A check that is one pass or one fail (type check, lint). `together`: its output is held and
 * printed whole when it ends, so checks run at the same time do not mix their lines.
 */
async function check(name: string, cmd: string, args: string[], together = false): Promise<void> {
  if (!together) console.log(`\n==> ${name}`);
  const started = Date.now();
  const { code, output } = await run(cmd, args, { echo: !together });
  if (together) process.stdout.write(`\n==> ${name}\n${output}`);
  timings.push([name, (Date.now() - started) / 1000]);
  if (code === 0) passed++;
  else {
    failed++;
    failures.push(name);
  }
}

/** A uvu suite: counts its tests from uvu's summary. `together`: as for check(). */
async function suite(name: string, args: string[], together = false): Promise<void> {
  if (!together) console.log(`\n==> ${name}`);
  const started = Date.now();
  let mark = started;
  let index = 0;
  const marks = (chunk: string) => {
    const count = chunk.match(/[•✘]/g)?.length ?? 0;
    for (let i = 0; i < count; i++) {
      const now = Date.now();
      testTimes.push([`${name}, test ${++index}`, (now - mark) / 1000]);
      mark = now;
    }
  };
  const { code, output } = await run(
    process.execPath,
    ['--import', 'tsx', 'node_modules/uvu/bin.js', ...args],
    { onData: marks, echo: !together },
  );
  if (together) process.stdout.write(`\n==> ${name}\n${output}`);
  timings.push([name, (Date.now() - started) / 1000]);
  const num = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? NaN);
  const total = num('Total');
  const ok = num('Passed');
  const skip = num('Skipped');
  if (!Number.isFinite(total) || !Number.isFinite(ok)) {
    failed++;
    failures.push(`${name} (no summary: it crashed)`);
    return;
  }
  passed += ok;
  skipped += Number.isFinite(skip) ? skip : 0;
  const bad = total - ok - (Number.isFinite(skip) ? skip : 0);
  failed += bad;
  if (bad > 0 || code !== 0) {
    if (bad === 0) failed++;
    failures.push(name);
  }
}

async function labSuites(): Promise<void> {
  if (process.getuid?.() !== 0) {
    const files = readdirSync('test/lab').filter((f) => f.endsWith('.test.ts'));
    console.log(
      `\n==> lab suites: not run (they boot servers and need root); ${files.length} file(s) skipped`,
    );
    skipped += files.length;
    return;
  }
  const files = readdirSync('test/lab')
    .filter((f) => f.endsWith('.test.ts'))
    .sort();
  // On a fresh machine the lab's host packages may be missing: install them (fast when present).
  await check('lab host packages', process.execPath, [
    '--import',
    'tsx',
    'scripts/lab.ts',
    'install',
  ]);
  try {
    for (const f of files) await suite(`lab: ${f}`, ['test/lab', `^${f.replace(/\./g, '\\.')}$`]);
  } finally {
    // Whatever happened, leave no lab behind.
    await run(process.execPath, ['--import', 'tsx', 'scripts/lab.ts', 'down']);
  }
}

/** Runs the jobs `width` at a time, each taken in order as a slot frees up. */
async function pool(width: number, jobs: (() => Promise<void>)[]): Promise<void> {
  const queue = [...jobs];
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** The unit files that take longest (each runs many commands): a process of their own. */
const SLOW_UNIT = '^(hostile-input|firewall-netns)\\.test\\.ts$';

if (mode === 'unit' || mode === 'all') {
  // Each is one process on one core: two at a time keep both cores busy (the longest first).
  await pool(2, [
    () =>
      suite('unit tests (the rest)', ['test/unit', '--ignore', `^fixtures$|${SLOW_UNIT}`], true),
    () => check('lint', 'node_modules/.bin/eslint', ['.'], true),
    () => suite('unit tests (slow files)', ['test/unit', SLOW_UNIT], true),
    () => check('type check', 'node_modules/.bin/tsc', ['--noEmit', '-p', '.'], true),
    () => check('format', 'node_modules/.bin/prettier', ['--check', '.'], true),
  ]);
}
if (mode === 'lab' || mode === 'all') await labSuites();

console.log('\n==> time taken');
for (const [name, secs] of timings) console.log(`${secs.toFixed(0).padStart(6)} s  ${name}`);
const slowest = testTimes
  .filter(([name]) => name.startsWith('lab: '))
  .sort((a, b) => b[1] - a[1])
  .slice(0, 15);
if (slowest.length > 0) {
  console.log("\n==> slowest lab tests (a suite's first test includes its setup)");
  for (const [name, secs] of slowest) console.log(`${secs.toFixed(0).padStart(6)} s  ${name}`);
}
console.log('');
if (failures.length > 0) console.log(`failed: ${failures.join('; ')}`);
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
