// The runner's sequencing against a fake transport that records every script and answers probes
// from a scripted server: command steps are done when their check's path is in the host's set,
// files come from a map. Apply scripts (the PRELUDE's flock) mark their commands done.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandError, GateError } from '../../src/errors.ts';
import type { RunEvent } from '../../src/plan/events.ts';
import type { Phase } from '../../src/plan/phase.ts';
import { Runner } from '../../src/plan/runner.ts';
import { sectionLine } from '../../src/plan/sections.ts';
import { sha256 } from '../../src/plan/steps/file.ts';
import { files, shell } from '../../src/plan/steps/index.ts';
import type { Target, Transport } from '../../src/ssh/transport.ts';

interface Reply {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly code?: number;
}
const s1: Target = { name: 's1', host: '10.0.0.1' };
const s2: Target = { name: 's2', host: '10.0.0.2' };
const isApply = (script: string) => script.includes('flock');

class FakeTransport {
  readonly calls: { host: string; script: string }[] = [];
  /** Per host: the names of the commands done. */
  readonly done = new Map<string, Set<string>>();
  readonly files = new Map<string, string>();
  onApply: (host: string, script: string) => Promise<Reply | void> | Reply | void = () => {};
  onOther: (host: string, script: string) => string = () => '';

  async run(target: Target, script: string): Promise<Required<Reply>> {
    this.calls.push({ host: target.name, script });
    await new Promise((r) => setImmediate(r));
    const done = this.done.get(target.name) ?? new Set();
    this.done.set(target.name, done);
    if (isApply(script)) {
      const reply = (await this.onApply(target.name, script)) ?? {};
      if ((reply.code ?? 0) === 0)
        for (const m of script.matchAll(/touch \/done\/(\w+)/g)) done.add(m[1] ?? '');
      return { stdout: '', stderr: '', code: 0, ...reply };
    }
    if (!script.includes(sectionLine('')))
      return { stdout: this.onOther(target.name, script), stderr: '', code: 0 };
    const out: string[] = [];
    for (const line of script.split('\n')) {
      let m: RegExpMatchArray | null;
      if ((m = /^echo (@@shoestring:\S+)$/.exec(line))) out.push(m[1] ?? '');
      else if ((m = /^if \( test -e \/done\/(\w+) \)/.exec(line)))
        out.push(done.has(m[1] ?? '') ? 'DONE' : 'TODO');
      else if ((m = /^if \[ -f (\S+) \] && \[ ! -L/.exec(line))) {
        const text = this.files.get(m[1] ?? '');
        out.push(...(text === undefined ? ['MISSING'] : ['644 root root', sha256(text)]));
      } else if ((m = /^if \[ -f (\S+) \]; then base64/.exec(line))) {
        const text = this.files.get(m[1] ?? '');
        if (text !== undefined) out.push(Buffer.from(text).toString('base64'));
      }
    }
    return { stdout: `${out.join('\n')}\n`, stderr: '', code: 0 };
  }
  scripts(host?: string) {
    return this.calls.filter((c) => !host || c.host === host).map((c) => c.script);
  }
}

function setup(options: { dryRun?: boolean; stop?: { requested: boolean }; pollMs?: number } = {}) {
  const fake = new FakeTransport();
  const events: RunEvent[] = [];
  // The runner only calls run(): the fake stands in for the whole Transport.
  const runner = new Runner(fake as unknown as Transport, {
    dryRun: options.dryRun ?? false,
    reporter: { event: (e) => events.push(e), close: () => {} },
    ...(options.stop ? { stop: options.stop } : {}),
    pollMs: options.pollMs ?? 1,
  });
  return { fake, events, runner };
}
const cmd = (name: string) =>
  shell.command(`Do ${name}`, `test -e /done/${name}`, `touch /done/${name}`);
const phase = (title: string, names: string[], turn?: string): Phase => ({
  title,
  steps: names.map(cmd),
  ...(turn ? { turn } : {}),
});
async function provision(runner: Runner, host: Target, phases: Phase[]) {
  return runner.runHost(host, await runner.planHost(host, phases));
}
/** Fails instead of hanging when a turn is never released. */
function within<T>(p: Promise<T>, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

test('nothing to change: every phase probed in one round trip, nothing applied', async () => {
  const { fake, runner } = setup();
  fake.done.set('s1', new Set(['a', 'b', 'c']));
  const out = await provision(runner, s1, [phase('One', ['a']), phase('Two', ['b', 'c'])]);
  assert.is(out.error, undefined);
  assert.is(out.changed, false);
  assert.is(fake.calls.length, 1);
  assert.ok(['a', 'b', 'c'].every((n) => fake.scripts()[0]?.includes(`/done/${n}`)));
  assert.equal(
    out.results.map((r) => r.unchanged),
    [1, 2],
  );
});

test('after a change only the later phases are probed again, one by one', async () => {
  const { fake, runner } = setup();
  fake.done.set('s1', new Set(['b']));
  const out = await provision(runner, s1, [
    phase('One', ['a']),
    phase('Two', ['b']),
    phase('Three', ['c']),
  ]);
  assert.is(out.error, undefined);
  const kinds = fake
    .scripts()
    .map((s) =>
      isApply(s)
        ? 'apply'
        : `probe ${[...s.matchAll(/test -e \/done\/(\w)/g)].map((m) => m[1]).join('')}`,
    );
  assert.equal(kinds, ['probe abc', 'apply', 'probe b', 'probe c', 'apply']);
  assert.equal(
    out.results.map((r) => r.changes.length),
    [1, 0, 1],
  );
});

test('a turn is held by one host at a time, through its phases of that turn', async () => {
  const { fake, runner } = setup();
  const log: string[] = [];
  fake.onApply = async (host, script) => {
    const what = /touch \/done\/(\w+)/.exec(script)?.[1] ?? '';
    log.push(`${host} ${what} start`);
    await new Promise((r) => setTimeout(r, 5));
    log.push(`${host} ${what} end`);
  };
  const phases = [
    phase('Join', ['a'], 'etcd'),
    phase('Start', ['b'], 'etcd'),
    phase('After', ['c']),
  ];
  const outs = await within(
    Promise.all([provision(runner, s1, phases), provision(runner, s2, phases)]),
  );
  assert.equal(
    outs.map((o) => o.error),
    [undefined, undefined],
  );
  const span = (host: string) =>
    [log.indexOf(`${host} a start`), log.indexOf(`${host} b end`)] as const;
  const [a, b] = [span('s1'), span('s2')];
  assert.ok(a[0] >= 0 && b[0] >= 0, log.join(', '));
  assert.ok(a[1] < b[0] || b[1] < a[0], `the turns overlap: ${log.join(', ')}`);
});

test('a host that fails mid-phase releases its turn', async () => {
  const { fake, runner } = setup();
  let failed = false;
  fake.onApply = (_host, script) => {
    if (failed || !script.includes('/done/a')) return;
    failed = true;
    return { code: 1, stderr: `${sectionLine('apply:Do a')}\nboom\n` };
  };
  const phases = [phase('Join', ['a'], 'etcd'), phase('Start', ['b'], 'etcd')];
  const outs = await within(
    Promise.all([provision(runner, s1, phases), provision(runner, s2, phases)]),
  );
  const bad = outs.filter((o) => o.error);
  assert.is(bad.length, 1);
  assert.instance(bad[0]?.error, CommandError);
  assert.match(bad[0]?.error?.message ?? '', /Join › Do a exited 1: boom/);
  assert.equal(
    outs.find((o) => !o.error)?.results.map((r) => r.changes.length),
    [1, 1],
  );
});

test('a stop between phases reports the phases left and releases the turn', async () => {
  const stop = { requested: false };
  const { fake, runner } = setup({ stop });
  fake.onApply = () => {
    stop.requested = true;
  };
  const phases = [
    phase('Join', ['a'], 'etcd'),
    phase('Start', ['b'], 'etcd'),
    phase('Check', ['c']),
  ];
  const first = await within(provision(runner, s1, phases));
  assert.is(first.error, undefined);
  assert.equal(first.left, ['Start', 'Check']);
  assert.equal(
    first.results.map((r) => r.phase),
    ['Join'],
  );
  stop.requested = false;
  fake.onApply = () => {};
  const second = await within(provision(runner, s2, phases));
  assert.is(second.error, undefined);
  assert.equal(
    second.results.map((r) => r.changes.length),
    [1, 1, 1],
  );
});

test('a dry run applies nothing and shows file changes as diffs', async () => {
  const { fake, events, runner } = setup({ dryRun: true });
  fake.files.set('/etc/app.conf', 'port=80\nname=app\n');
  const phases: Phase[] = [
    {
      title: 'Configure',
      steps: [
        files.file('/etc/app.conf', 'port=8080\nname=app\n'),
        files.file('/etc/new.conf', 'x=1\n'),
        files.file('/etc/secret.key', 'hunter2\n', { secret: true }),
        cmd('a'),
      ],
    },
  ];
  const out = await provision(runner, s1, phases);
  assert.is(out.error, undefined);
  assert.is(out.changed, true);
  assert.equal(fake.scripts().filter(isApply), []);
  assert.is(fake.calls.length, 2, 'one probe, one read of the current files');
  assert.not.ok(fake.scripts()[1]?.includes('secret.key'), 'a secret file is never read back');
  const diffs = new Map(events.flatMap((e) => (e.type === 'change' ? [[e.summary, e.diff]] : [])));
  assert.match(diffs.get('update /etc/app.conf') ?? '', /-port=80\n\+port=8080\n name=app/);
  assert.match(
    diffs.get('create /etc/new.conf (0644 root:root)') ?? '',
    /--- \/dev\/null[^]*\+x=1/,
  );
  assert.is(
    diffs.get('create /etc/secret.key (0644 root:root)'),
    '(/etc/secret.key: secret content, not shown)',
  );
  assert.ok(diffs.has('run: Do a'));
  assert.not.ok(JSON.stringify(events).includes('hunter2'));
});

const gate = (seconds: number, verdict: (out: string) => string | undefined) => ({
  title: 'etcd healthy',
  probe: 'etcdctl endpoint health',
  verdict,
  hint: 'journalctl -u etcd',
  seconds,
});

test('a gate is polled until its verdict passes', async () => {
  const { fake, runner } = setup();
  let n = 0;
  fake.onOther = () => `${++n}`;
  await runner.gate(
    s1,
    gate(5, (out) => (Number(out) >= 3 ? undefined : `only ${out}`)),
  );
  assert.is(fake.calls.length, 3);
});

test('a gate that never passes ends with GateError when its budget is spent', async () => {
  const { fake, runner } = setup({ pollMs: 5 });
  fake.onOther = () => 'unhealthy';
  const err = await runner
    .gate(
      s1,
      gate(0.05, (out) => `said ${out}`),
    )
    .catch((e: unknown) => e);
  assert.instance(err, GateError);
  assert.is((err as GateError).message, 's1: etcd healthy: said unhealthy');
  assert.is((err as GateError).hint, 'journalctl -u etcd');
  assert.ok(fake.calls.length >= 2, `${fake.calls.length} poll(s)`);
});

test('a gate whose answer says waiting cannot help fails at once, with both reasons', async () => {
  const { fake, runner } = setup({ pollMs: 5 });
  fake.onOther = () => 'masked';
  const started = Date.now();
  const err = await runner
    .gate(s1, {
      ...gate(30, (out) => `said ${out}`),
      hopeless: (out) => (out === 'masked' ? 'etcd is masked' : undefined),
    })
    .catch((e: unknown) => e);
  assert.instance(err, GateError);
  assert.is((err as GateError).message, 's1: etcd healthy: said masked: etcd is masked');
  assert.is(fake.calls.length, 1);
  assert.ok(Date.now() - started < 5000, 'it did not wait for its budget');
});

test('a hopeless-looking answer does not fail a gate whose verdict passes', async () => {
  const { fake, runner } = setup();
  fake.onOther = () => 'ok';
  await runner.gate(s1, {
    ...gate(5, (out) => (out === 'ok' ? undefined : 'no')),
    hopeless: () => 'always hopeless',
  });
  assert.is(fake.calls.length, 1);
});

test.run();
