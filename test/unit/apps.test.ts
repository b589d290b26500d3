import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { assignPorts, describeApps, readApps } from '../../src/apps/discover.ts';
import { ConfigError } from '../../src/errors.ts';

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
  assert.equal(byName.get('app2')?.packages, ['python3-flask']);
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
      /already apps\/c/.test(e.message),
  );
});

test.run();
