/**
 * Rolling updates under load, on the 3 database servers the earlier suites left: a changed app
 * and a changed template go out with `--percent 0.34` (one server a group) while browser-like
 * clients use the round-robin names (reads and writes) and one loop per server asks that
 * server's front directly, all over HTTPS: no request fails. Then a server whose health breaks
 * in the middle of a rollout (its etcd member stops while its group is being provisioned):
 * the rollout stops there, the servers after it are left untouched, the broken server stays out
 * of DNS, and the report names it and why. The next provision, once it is mended, converges.
 * Last, a changed app that does not load: its first server's gate stops the rollout (the other
 * servers' instances of the version before would have passed a check through the front alone),
 * and the others go on serving that version.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveAll } from './browser.ts';
import { currentLab, lostWrites, provisionAsync, waitClean, type Lab } from './chaos.ts';
import { on, runAsync } from './helpers.ts';
import { countWindow, startLoad } from './load.ts';
import { events, labUp } from './provision-helpers.ts';
import { startRequestLoop, summarize } from './request-loop.ts';
import { envFile, labCa, sleep } from './stack-checks.ts';
import { httpsCall } from './write-loop.ts';

const APP = 'apps/app1/app.wsgi';
const TEMPLATE = 'templates/web/apache-site-body.conf.hbs';
const original = { app: readFileSync(APP, 'utf8'), template: readFileSync(TEMPLATE, 'utf8') };
let lab: Lab;
let env = '';

const args = (): string[] => ['--servers', '.lab/servers.txt', '--env', env];
const rolling = (): string[] => [...args(), '--percent', '0.34', '--json'];

function restoreSources(): void {
  writeFileSync(APP, original.app);
  writeFileSync(TEMPLATE, original.template);
}

/** A provision with `--percent 0.34` while every loop runs; asserts none of them saw a failure. */
async function rollUnderLoad(what: string): Promise<string> {
  const ca = await labCa();
  const load = startLoad({ dns: lab.dns, ca, domain: lab.domain, prefix: `roll-${Date.now()}` });
  const direct = lab.addresses.map((a) =>
    startRequestLoop({
      addresses: [a],
      host: `app1.${lab.domain}`,
      https: { ca },
      intervalMs: 200,
    }),
  );
  await sleep(2000);
  let out = '';
  try {
    out = await provisionAsync(rolling());
  } finally {
    await sleep(3000);
    const results = await load.stop();
    const perServer = await Promise.all(direct.map((l) => l.stop()));
    const all = countWindow(results, 0, Infinity);
    assert.is(all.failed, 0, `${what}: round robin: ${all.examples.join('; ')}`);
    assert.ok(all.requests > 50, `${what}: only ${all.requests} requests`);
    for (const [i, r] of perServer.entries()) {
      const s = summarize(r);
      const bad = r.filter((x) => !x.ok).slice(0, 3);
      assert.is(
        s.failures,
        0,
        `${what}: direct to ${lab.addresses[i]}: ${bad.map((b) => `${b.code} ${b.error ?? ''}`).join('; ')}`,
      );
    }
    assert.equal(await lostWrites(lab, results), [], `${what}: acknowledged writes lost`);
  }
  // One server a group: three groups, each drained first.
  const stages = out.split('\n').filter((l) => l.includes('"type":"stage"') && l.includes('Group'));
  assert.is(stages.length, 3, `${what}: groups: ${stages.join('\n')}`);
  return out;
}

test.before(async () => {
  labUp(3);
  env = envFile({ DATABASE: 'galera' });
  lab = currentLab();
  await provisionAsync(args());
  await waitClean(lab, 240);
});

test.after(async () => {
  restoreSources();
  await provisionAsync(args()).catch((e: unknown) => console.error(String(e)));
});

test('a changed app rolls out one server at a time: no request fails, every instance runs it', async () => {
  writeFileSync(APP, original.app.replace('app1 served by', 'app1 v2 served by'));
  await rollUnderLoad('changed app');
  for (const a of lab.addresses) {
    const code = await on(a, `grep -c 'app1 v2' /srv/shoestring/apps/app1/app.wsgi`);
    assert.is(code.out, '1', `${a} runs the old app1`);
  }
});

test('a changed template rolls out one server at a time: no request fails', async () => {
  writeFileSync(
    TEMPLATE,
    original.template.replace(
      '    # Health of this server',
      '    # Rolled out.\n    # Health of this server',
    ),
  );
  await rollUnderLoad('changed template');
  for (const a of lab.addresses) {
    const r = await on(a, `grep -Rl '# Rolled out.' /etc/apache2/sites-enabled/ | wc -l`);
    assert.is(r.out, '1', `${a}: the site lacks the change`);
  }
});

test('a server whose health breaks mid-rollout stops it: the rest untouched, it stays out of DNS, the report says why', async () => {
  const [, s2 = '', s3 = ''] = lab.addresses;
  writeFileSync(APP, original.app.replace('app1 served by', 'app1 v3 served by'));
  // Provision in the background, following its events: when s2's group starts, its etcd
  // member stops (and cannot start again) — its /healthz then answers 503.
  const child = spawn(process.execPath, ['--import', 'tsx', 'provision.ts', ...rolling()], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  let out = '';
  let broke: Promise<unknown> | undefined;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!broke && /"type":"stage","title":"Group 2\/3/.test(out))
      broke = on(s2, 'systemctl mask --runtime --now etcd');
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
  await broke;
  try {
    assert.ok(broke, `s2's group never started:\n${out}`);
    assert.is(code, 1, out);
    // The report: s2 failed, and why; s3 was left untouched.
    const done = events(out).filter((e) => e.type === 'host-done');
    const summaries = done.map(
      (e) => e['summary'] as { host: string; failed: boolean; error?: string },
    );
    const bad = summaries.filter((h) => h.failed);
    assert.equal(
      bad.map((h) => h.host),
      [s2],
      out,
    );
    assert.match(bad[0]?.error ?? '', /gate|healthz|etcd/, bad[0]?.error);
    assert.not.ok(
      summaries.some((h) => h.host === s3),
      `s3 was provisioned: ${JSON.stringify(summaries)}`,
    );
    const warned = events(out)
      .filter((e) => e.type === 'warn')
      .map((e) => String(e['message']));
    assert.ok(warned.includes(`stopped: ${s3} left untouched`), warned.join('\n'));
    // s3 still runs the version before, s2 has the new one.
    assert.is((await on(s3, `grep -c 'app1 v3' ${'/srv/shoestring/apps/app1/app.wsgi'}`)).out, '0');
    assert.is((await on(s2, `grep -c 'app1 v3' ${'/srv/shoestring/apps/app1/app.wsgi'}`)).out, '1');
    // s2 stays out of DNS, also after the agent's next health rounds.
    for (let i = 0; i < 3; i++) {
      const inDns = await resolveAll(lab.dns, `app1.${lab.domain}`);
      assert.not.ok(inDns.includes(s2), `s2 is in DNS again: ${inDns.join(' ')}`);
      await sleep(5000);
    }
  } finally {
    await on(s2, 'systemctl unmask --runtime etcd; systemctl start etcd');
  }
  // Mended, the next provision finishes the rollout and s2 returns to DNS.
  await provisionAsync(args());
  await waitClean(lab, 120);
  assert.is((await on(s3, `grep -c 'app1 v3' /srv/shoestring/apps/app1/app.wsgi`)).out, '1');
});

test('a changed app that does not load stops the rollout at its first server; the others serve the version before', async () => {
  const [s1 = '', s2 = '', s3 = ''] = lab.addresses;
  writeFileSync(APP, `import no_such_module\n${original.app}`);
  let r: { code: number; stdout: string };
  try {
    r = await runAsync('provision.ts', rolling());
  } finally {
    restoreSources();
  }
  assert.is(r.code, 1, r.stdout);
  const summaries = events(r.stdout)
    .filter((e) => e.type === 'host-done')
    .map((e) => e['summary'] as { host: string; failed: boolean; error?: string });
  assert.equal(
    summaries.map((h) => [h.host, h.failed]),
    [[s1, true]],
    r.stdout,
  );
  assert.match(
    summaries[0]?.error ?? '',
    /apps gate: apps not answering 200: app1 is not running here/,
    r.stdout,
  );
  const ca = await labCa();
  for (const a of [s1, s2, s3]) {
    const res = await httpsCall(a, `app1.${lab.domain}`, ca, 'GET', '/');
    assert.is(res.code, 200, `app1 through ${a}: ${res.code} ${res.body.slice(0, 80)}`);
  }
  // Fixed, the next provision brings s1 back.
  await provisionAsync(args());
  await waitClean(lab, 120);
});

test.run();
