// The probes of the kinds that only look at paths (file, directory, absent, symlink) run for real
// by a local bash against a temp directory; their output goes through planPhases (section
// protocol, parse, decide). The changes are then applied by bash too, and a second probe must
// find nothing left to do (the pyinfra habit: the second run changes nothing).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planPhases, probeScript } from '../../src/plan/probe.ts';
import { files, type Step } from '../../src/plan/steps/index.ts';

const root = mkdtempSync(join(tmpdir(), "shoestring-probe 'x' "));
const p = (name: string) => join(root, name);
const id = (flag: string) => spawnSync('id', [flag], { encoding: 'utf8' }).stdout.trim();
const me = { owner: id('-un'), group: id('-gn') };

/** Runs a script the way the transport does (`set -euo pipefail` first). */
function bash(script: string): string {
  const r = spawnSync('bash', ['-s'], {
    input: `set -euo pipefail\nexport LC_ALL=C\nshoestring_on_exit() { trap "$1" EXIT; }\n${script}\n`,
    encoding: 'utf8',
  });
  assert.is(r.status, 0, `the script failed: ${r.stderr}`);
  return r.stdout;
}

/** Probes the steps for real: the summaries of their changes (null: already right). */
function plan(steps: readonly Step[]) {
  const [phase] = planPhases([steps], bash(probeScript([steps])), 'local');
  assert.ok(phase);
  return steps.map((s) => phase.changes.find((c) => c.title === s.title) ?? null);
}

/** Applies what the probe found, then probes again: nothing must be left. */
function converge(steps: readonly Step[]): string[] {
  const changes = plan(steps);
  for (const c of changes) if (c) bash(c.script);
  assert.equal(
    plan(steps).map((c) => c?.summary ?? null),
    steps.map(() => null),
    'the second probe still finds changes',
  );
  return changes.map((c) => c?.summary ?? 'nothing');
}

test.after(() => rmSync(root, { recursive: true, force: true }));

test('file: missing, then content, mode and a link in the way', () => {
  const conf = files.file(p('conf/a b.conf'), 'one\ntwo\n', { mode: '0640', ...me });
  assert.equal(converge([conf]), [`create ${conf.path} (0640 ${me.owner}:${me.group})`]);
  assert.is(readFileSync(conf.path, 'utf8'), 'one\ntwo\n');
  assert.is(statSync(conf.path).mode & 0o777, 0o640);

  writeFileSync(conf.path, 'one\n');
  assert.equal(converge([conf]), [`update ${conf.path}`]);
  assert.is(readFileSync(conf.path, 'utf8'), 'one\ntwo\n');

  spawnSync('chmod', ['0600', conf.path]);
  assert.equal(converge([conf]), [`fix ${conf.path}: mode 0600 → 0640`]);

  // A link to a file with the right content is not the file: it is replaced by one.
  const target = p('elsewhere');
  writeFileSync(target, 'one\ntwo\n');
  const linked = files.file(p('linked'), 'one\ntwo\n', me);
  symlinkSync(target, linked.path);
  assert.equal(converge([linked]), [`create ${linked.path} (0644 ${me.owner}:${me.group})`]);
  assert.is(readFileSync(target, 'utf8'), 'one\ntwo\n', 'the link target is untouched');
  assert.not.ok(
    readdirSync(root, { recursive: true })
      .map(String)
      .some((f) => f.includes('.shoestring.')),
    'temp files left',
  );
});

test('file: empty content and content with no final newline survive the round trip', () => {
  const empty = files.file(p('empty'), '', me);
  const bare = files.file(p('bare'), 'no newline: $HOME `id` \'"', me);
  converge([empty, bare]);
  assert.is(readFileSync(empty.path, 'utf8'), '');
  assert.is(readFileSync(bare.path, 'utf8'), bare.content);
});

test('directory: missing, wrong mode, and a file in the way', () => {
  const d = files.directory(p('data dir'), { mode: '0700', ...me });
  assert.equal(converge([d]), [`create directory ${d.path}`]);
  assert.is(statSync(d.path).mode & 0o777, 0o700);
  spawnSync('chmod', ['0755', d.path]);
  assert.equal(converge([d]), [
    `fix directory ${d.path} (0755 ${me.owner}:${me.group} → 0700 ${me.owner}:${me.group})`,
  ]);

  const blocked = files.directory(p('blocked'), me);
  writeFileSync(blocked.path, 'x');
  const [change] = plan([blocked]);
  assert.is(change?.summary, `${blocked.path} exists but is not a directory`);
  const r = spawnSync('bash', ['-c', change?.script ?? ''], { encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.match(r.stderr, 'move it away');
});

test('absent: a file, a directory tree, a dangling link, and nothing', () => {
  writeFileSync(p('old.conf'), 'x');
  mkdirSync(p('tree/sub'), { recursive: true });
  writeFileSync(p('tree/sub/f'), 'x');
  symlinkSync(p('nowhere'), p('dangling'));
  const steps = ['old.conf', 'tree', 'dangling', 'never'].map((n) => files.absent(p(n)));
  assert.equal(converge(steps), [
    `remove ${p('old.conf')} (regular file)`,
    `remove ${p('tree')} (directory)`,
    `remove ${p('dangling')} (symbolic link)`,
    'nothing',
  ]);
  assert.equal(
    readdirSync(root).filter((f) => ['old.conf', 'tree', 'dangling'].includes(f)),
    [],
  );
});

test('symlink: missing, pointing elsewhere, and a file in the way', () => {
  const link = files.symlink(p('links/current'), p('release 2'));
  assert.equal(converge([link]), [`link ${link.path} → ${link.target}`]);
  assert.is(readlinkSync(link.path), link.target);
  rmSync(link.path);
  symlinkSync(p('release 1'), link.path);
  assert.equal(converge([link]), [`link ${link.path} → ${link.target}`]);
  assert.is(readlinkSync(link.path), link.target);

  const blocked = files.symlink(p('links/blocked'), p('x'));
  writeFileSync(blocked.path, 'x');
  const [change] = plan([blocked]);
  assert.is(change?.summary, `${blocked.path} is a regular file, not a link`);
});

test.run();
