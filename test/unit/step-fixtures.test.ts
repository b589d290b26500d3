// One generic test over the step fixtures (test/unit/fixtures/steps/<kind>.ts): each says "this
// step and this probe output give exactly this change". Every kind of the Step union must have a
// fixture file with at least three cases; every probe and every change script must be valid bash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { decideStep, parseStep, probeStep, type Step } from '../../src/plan/steps/index.ts';
import { ProbeOutputError } from '../../src/plan/steps/types.ts';
import type { StepFixture } from './fixtures/step-fixture.ts';

/** Every kind of the Step union (the type check fails when a kind is added and not listed). */
const KINDS: { readonly [K in Step['kind']]: true } = {
  packages: true,
  file: true,
  directory: true,
  absent: true,
  symlink: true,
  service: true,
  masked: true,
  'daemon-reload': true,
  'unit-absent': true,
  'apache-modules': true,
  'apache-site': true,
  'nginx-site': true,
  command: true,
};
const MIN_CASES = 3;
const dir = new URL('./fixtures/steps/', import.meta.url);

async function load(kind: string): Promise<readonly StepFixture[] | undefined> {
  const url = new URL(`${kind}.ts`, dir);
  if (!existsSync(url)) return undefined;
  const mod = (await import(pathToFileURL(url.pathname).href)) as {
    fixtures?: readonly StepFixture[];
  };
  return mod.fixtures;
}

const byKind = new Map<string, readonly StepFixture[] | undefined>();
for (const kind of Object.keys(KINDS)) byKind.set(kind, await load(kind));

/** `bash -n`: a syntax check only, nothing runs. */
function syntaxError(script: string): string | undefined {
  const r = spawnSync('bash', ['-n'], {
    input: `set -euo pipefail\n${script}\n`,
    encoding: 'utf8',
  });
  return r.status === 0 ? undefined : r.stderr.trim() || `bash -n exited ${r.status}`;
}

test('every step kind has a fixture file with enough cases, and no file is left over', () => {
  for (const [kind, fixtures] of byKind) {
    assert.ok(fixtures, `no fixtures for the ${kind} kind in test/unit/fixtures/steps/${kind}.ts`);
    assert.ok(
      fixtures.length >= MIN_CASES,
      `${kind}: ${fixtures.length} fixture(s), at least ${MIN_CASES} wanted`,
    );
    for (const f of fixtures)
      assert.is(f.step.kind, kind, `${kind} › ${f.name}: a ${f.step.kind} step`);
    const names = fixtures.map((f) => f.name);
    assert.is(new Set(names).size, names.length, `${kind}: fixture names repeat`);
    assert.ok(
      fixtures.some((f) => f.expect === null),
      `${kind}: no "already correct ⇒ null" case`,
    );
    assert.ok(
      fixtures.some((f) => f.expect !== null && f.expect !== 'ProbeOutputError'),
      `${kind}: no drift case`,
    );
  }
  const files = readdirSync(dir).map((f) => f.replace(/\.ts$/, ''));
  assert.equal(
    files.filter((f) => !(f in KINDS)),
    [],
    'fixture files for kinds that do not exist',
  );
});

for (const [kind, fixtures] of byKind) {
  for (const f of fixtures ?? []) {
    test(`${kind} › ${f.name}`, () => {
      const { step, lines, expect } = f;
      if (expect === 'ProbeOutputError') {
        assert.throws(
          () => parseStep(step, lines),
          (e: unknown) => e instanceof ProbeOutputError,
        );
        return;
      }
      const change = decideStep(step, parseStep(step, lines));
      if (expect === null) {
        assert.is(change, null, `expected no change, got: ${change?.summary}`);
        return;
      }
      assert.ok(change, 'expected a change, got null');
      assert.is(change.title, step.title);
      assert.is(change.summary, expect.summary);
      assert.ok(
        expect.script !== undefined || expect.scriptIncludes !== undefined,
        'the fixture says nothing about the script',
      );
      if (expect.script !== undefined) assert.is(change.script, expect.script);
      for (const s of expect.scriptIncludes ?? [])
        assert.ok(change.script.includes(s), `the script lacks ${JSON.stringify(s)}`);
      for (const s of expect.scriptExcludes ?? [])
        assert.not.ok(change.script.includes(s), `the script has ${JSON.stringify(s)}`);
      assert.equal(change.notify, expect.notify ?? []);
      assert.is(change.starts, expect.starts);
      assert.equal(change.content, expect.content);
      assert.is(change.guarded, expect.guarded);
    });
  }
}

test('every probe and every change script of the fixtures is valid bash', () => {
  let checked = 0;
  for (const [kind, fixtures] of byKind) {
    for (const f of fixtures ?? []) {
      const probeError = syntaxError(probeStep(f.step));
      assert.is(probeError, undefined, `${kind} › ${f.name}: probe: ${probeError}`);
      checked++;
      if (f.expect === null || f.expect === 'ProbeOutputError') continue;
      const script = decideStep(f.step, parseStep(f.step, f.lines))?.script ?? '';
      const scriptError = syntaxError(script);
      assert.is(scriptError, undefined, `${kind} › ${f.name}: change: ${scriptError}`);
    }
  }
  assert.ok(checked >= Object.keys(KINDS).length * MIN_CASES);
});

test('bash -n does catch a broken script (the check above can fail)', () => {
  assert.ok(syntaxError('if true; then echo'));
});

test.run();
