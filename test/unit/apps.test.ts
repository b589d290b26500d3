import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assignPorts, describeApps, readApps } from '../../src/apps/discover.ts';
import { appProblem } from '../../src/components/apps.ts';
import { ConfigError } from '../../src/errors.ts';
import { loadInputs } from '../../src/provision/context.ts';
import { configProblems } from './fixtures/config-problems.ts';

const src = (name: string, files: Record<string, string>) => ({
  name,
  files: Object.entries(files).map(([path, content]) => ({ path, content })),
});

test('the repository apps: app1 (plain WSGI) and app2 (Flask, requirements, Debian packages)', () => {
  const apps = describeApps(
    readApps(join(import.meta.dirname, '../../apps')),
    'example.test',
    3100,
  );
  const byName = new Map(apps.map((a) => [a.name, a]));
  assert.is(byName.get('app1')?.key, 'app1.example.test');
  assert.is(byName.get('app1')?.entry, 'app.wsgi');
  assert.is(byName.get('app2')?.entry, 'app.py');
  assert.ok(byName.get('app2')?.requirements?.includes('flask'));
  assert.equal(byName.get('app2')?.packages, ['python3-flask', 'python3-pymysql']);
  assert.is(byName.get('app2')?.database, true, 'app2 asks for a database');
  assert.is(byName.get('app1')?.database, false);
  assert.is.not(byName.get('app1')?.port, byName.get('app2')?.port);
});

test('ports are stable: adding an app does not move the others', () => {
  const before = assignPorts(['app1', 'app2'], 3100);
  const after = assignPorts(['app0', 'app1', 'app2', 'zzz'], 3100);
  assert.is(after.get('app1'), before.get('app1'));
  assert.is(after.get('app2'), before.get('app2'));
  assert.is(new Set(after.values()).size, 4);
  for (const p of after.values()) assert.ok(p >= 3100 && p < 3900);
});

test('clashing ports are settled by the next free one; too many apps is an error', () => {
  const ports = assignPorts(['a', 'b'], 3100, 2);
  assert.equal([...ports.values()].sort(), [3100, 3101]);
  assert.throws(
    () => assignPorts(['a', 'b', 'c'], 3100, 2),
    (e: unknown) => e instanceof ConfigError,
  );
});

test('the code hash changes with the code (which reloads the vassal)', () => {
  const a = describeApps([src('x', { host: 'x', 'app.py': 'v1' })], 'd.test', 3100)[0];
  const b = describeApps([src('x', { host: 'x', 'app.py': 'v2' })], 'd.test', 3100)[0];
  assert.is.not(a?.codeHash, b?.codeHash);
});

test('@ serves the domain itself', () => {
  assert.is(
    describeApps([src('www', { host: '@', 'app.py': '' })], 'd.test', 3100)[0]?.key,
    'd.test',
  );
});

test('problems are reported together: no host file, no entry point, a clash', () => {
  assert.throws(
    () =>
      describeApps(
        [
          src('a', { 'app.py': '' }),
          src('b', { host: 'b' }),
          src('c', { host: 'same', 'app.py': '' }),
          src('d', { host: 'same', 'app.py': '' }),
        ],
        'd.test',
        3100,
      ),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.problems.length === 3 &&
      /apps\/a\/host is missing/.test(e.message) &&
      /apps\/b: needs app\.wsgi or app\.py/.test(e.message) &&
      /apps\/d\/host: same\.d\.test is already served by apps\/c \(its host file\)/.test(e.message),
  );
});

/** The problems of a describeApps that must fail. */
function problems(sources: ReturnType<typeof src>[], domain = 'example.com'): readonly string[] {
  return configProblems(() => describeApps(sources, domain, 3100));
}

test('a file name with shell characters is refused, naming the exact path', () => {
  assert.equal(problems([src('app1', { host: 'app1', 'app.py': '', "x'$(touch pwned)'": '' })]), [
    `apps/app1/x'$(touch pwned)': the name "x'$(touch pwned)'" may use only letters, digits, '.', '_' and '-' (not first): rename it`,
  ]);
});

test('a folder name inside an app is checked too, and so is a leading -', () => {
  assert.equal(
    problems([src('app1', { host: 'app1', 'app.py': '', 'static/a b/x.css': '', 'lib/-rf': '' })]),
    [
      `apps/app1/static/a b/x.css: the name "a b" may use only letters, digits, '.', '_' and '-' (not first): rename it`,
      `apps/app1/lib/-rf: the name "-rf" may use only letters, digits, '.', '_' and '-' (not first): rename it`,
    ],
  );
});

test('an app folder name outside the safe set is refused', () => {
  assert.equal(problems([src("x'$(touch /tmp/pwned)'", { host: 'x', 'app.py': '' })]), [
    `apps/x'$(touch /tmp/pwned)': an app folder's name may use only lowercase letters, digits and - (not first, at most 41): rename the folder`,
  ]);
});

test('a host file with the full domain is refused with a hint to write just the name', () => {
  assert.equal(problems([src('app1', { host: 'app1.example.com\n', 'app.py': '' })]), [
    'apps/app1/host: "app1.example.com" would serve app1.example.com.example.com: write just app1 (the name under DOMAIN)',
  ]);
  assert.equal(problems([src('www', { host: 'example.com', 'app.py': '' })]), [
    'apps/www/host: "example.com" is DOMAIN itself: write just @',
  ]);
});

test('host values that are not one DNS label, empty host files', () => {
  assert.equal(
    problems([
      src('a', { host: 'shop.eu', 'app.py': '' }),
      src('b', { host: '-b', 'app.py': '' }),
      src('c', { host: 'c_1', 'app.py': '' }),
      src('d', { host: '  \n', 'app.py': '' }),
      src('e', { host: 'x'.repeat(64), 'app.py': '' }),
    ]),
    [
      'apps/a/host: "shop.eu" is not a DNS label (letters, digits and -, at most 63, no dots): write one name such as a, or @ for DOMAIN itself',
      'apps/b/host: "-b" is not a DNS label (letters, digits and -, at most 63, no dots): write one name such as b, or @ for DOMAIN itself',
      'apps/c/host: "c_1" is not a DNS label (letters, digits and -, at most 63, no dots): write one name such as c, or @ for DOMAIN itself',
      "apps/d/host is empty: write the app's name under DOMAIN in it (e.g. d), or @ for DOMAIN itself",
      `apps/e/host: "${'x'.repeat(64)}" is not a DNS label (letters, digits and -, at most 63, no dots): write one name such as e, or @ for DOMAIN itself`,
    ],
  );
});

test('an overlong host line is cut in the message', () => {
  const [p] = problems([src('a', { host: 'y'.repeat(10_000), 'app.py': '' })]);
  assert.is(
    p,
    `apps/a/host: "${'y'.repeat(79)}…" is not a DNS label (letters, digits and -, at most 63, no dots): write one name such as a, or @ for DOMAIN itself`,
  );
});

test('loadInputs refuses bad apps before any server is touched (exit 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-inputs-'));
  writeFileSync(join(dir, 'servers.txt'), '192.0.2.1\n');
  writeFileSync(join(dir, '.env'), 'DOMAIN=example.com\n');
  mkdirSync(join(dir, 'apps', 'app1'), { recursive: true });
  writeFileSync(join(dir, 'apps', 'app1', 'host'), 'app1.example.com\n');
  writeFileSync(join(dir, 'apps', 'app1', 'app.py'), '');
  const paths = { servers: join(dir, 'servers.txt'), env: join(dir, '.env') };
  assert.throws(
    () => loadInputs(paths, join(dir, 'apps')),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.exitCode === 2 &&
      e.message ===
        `${join(dir, 'apps')}/ has 1 problem(s):\n  - ${join(dir, 'apps')}/app1/host: "app1.example.com" would serve app1.example.com.example.com: write just app1 (the name under DOMAIN)`,
  );
  writeFileSync(join(dir, 'apps', 'app1', 'host'), 'app1\n');
  const inputs = loadInputs(paths, join(dir, 'apps'));
  assert.equal(
    inputs.apps.map((a) => a.key),
    ['app1.example.com'],
  );
});

test('loadInputs loads the checkout apps by default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-inputs-'));
  writeFileSync(join(dir, 'servers.txt'), '192.0.2.1\n');
  writeFileSync(join(dir, '.env'), 'DOMAIN=example.com\n');
  const inputs = loadInputs({ servers: join(dir, 'servers.txt'), env: join(dir, '.env') });
  assert.equal(
    inputs.apps.map((a) => a.key),
    ['app1.example.com', 'app2.example.com'],
  );
});

test("apps gate: an app is judged on this server's own instance first, then through the front", () => {
  assert.is(appProblem('app1|200|200'), undefined);
  // Through the front another server's instance of the old code would answer 200.
  assert.is(appProblem('app8|200|refused'), 'app8 is not running here (its code did not load?)');
  assert.is(appProblem('app9|500|500'), 'app9 500');
  assert.is(
    appProblem('app1|200|old'),
    'app1 still runs the version before here (the new one did not load?)',
  );
  assert.is(appProblem('app9|200|silent'), 'app9 does not answer');
  assert.is(appProblem('app9|200|missing'), 'app9 missing');
  assert.is(appProblem('app1|503|200'), 'app1 503 through the front');
  assert.is(appProblem('app1||200'), 'app1 no answer through the front');
});

test.run();
