/**
 * Hostile input that needs servers (the rest is test/unit/hostile-input.test.ts), on the 3
 * database servers the chaos suite left: an unreachable server (a stopped lab server, an
 * unused lab address), the wrong user, the wrong key, a changed host key, a template with an
 * error, an app whose code does not import, an app that answers 500, a full disk on one
 * server, a server whose clock is far off. Each: the exact message, the exit code, and nothing
 * changed on any server (a fingerprint of everything provision manages, before and after) —
 * except where a rollout's first group is what meets the problem: then only that server
 * changed, the rest untouched, and it stays out of DNS until mended.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveAll } from './browser.ts';
import { currentLab, provisionAsync, waitClean, type Lab } from './chaos.ts';
import { on } from './helpers.ts';
import { labUp, runCommand, type CommandResult } from './provision-helpers.ts';
import { envFile } from './stack-checks.ts';

let lab: Lab;
let env = '';
const dir = mkdtempSync(join(tmpdir(), 'shoestring-hostile-'));

/** Everything provision manages on a server, as one hash (paths, sizes, modification times). */
const MANAGED = [
  '/etc/shoestring',
  '/srv/shoestring',
  '/etc/apache2',
  '/etc/uwsgi-emperor',
  '/etc/haproxy',
  '/etc/mysql',
  '/etc/systemd/system',
  '/etc/nftables.conf',
  '/var/www/shoestring',
].join(' ');

/** Everything provision manages, on every server. */
async function fingerprints(): Promise<string[]> {
  return Promise.all(lab.addresses.map(fingerprintOf));
}

function provisionWith(args: readonly string[]): CommandResult {
  return runCommand('provision.ts', [...args]);
}

/** Runs a provision that must be refused; asserts code and message, and that nothing changed. */
async function refused(
  args: readonly string[],
  code: number,
  message: RegExp,
  touched: readonly string[] = [],
): Promise<string> {
  const before = await fingerprints();
  const res = provisionWith(args);
  const out = res.stdout + res.stderr;
  assert.is(res.status, code, out);
  assert.match(out, message, out);
  const after = await fingerprints();
  for (const [i, a] of lab.addresses.entries())
    if (!touched.includes(a)) assert.is(after[i], before[i], `${a} changed:\n${out}`);
  return out;
}

const serversFile = (lines: readonly string[], name: string): string => {
  const f = join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
};

const envWith = (changes: Record<string, string>, name: string): string => {
  const base = parse(readFileSync(env));
  const f = join(dir, name);
  writeFileSync(
    f,
    Object.entries({ ...base, ...changes })
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  return f;
};

const re = (s: string): RegExp => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

test.before(async () => {
  labUp(3);
  env = envFile({ DATABASE: 'galera' });
  lab = currentLab();
  await provisionAsync(['--servers', '.lab/servers.txt', '--env', env]);
  await waitClean(lab, 240);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a stopped server: preflight names it unreachable, exit 1, nothing changes anywhere', async () => {
  const [, , s3 = ''] = lab.addresses;
  assert.is(runCommand('scripts/lab.ts', ['stop', 's3']).status, 0);
  try {
    const servers = serversFile(lab.addresses, 'stopped.txt');
    const before = await Promise.all(lab.addresses.slice(0, 2).map((a) => fingerprintOf(a)));
    const res = provisionWith(['--servers', servers, '--env', env]);
    const out = res.stdout + res.stderr;
    assert.is(res.status, 1, out);
    assert.match(
      out,
      re(
        `${s3}: host unreachable (ssh: connect to host ${s3} port 22: Connection refused): check that ${s3} is up and that port 22 is open from here`,
      ),
      out,
    );
    assert.match(out, re('✗ preflight found 1 problem(s); nothing was changed'), out);
    const after = await Promise.all(lab.addresses.slice(0, 2).map((a) => fingerprintOf(a)));
    assert.equal(after, before, out);
  } finally {
    assert.is(runCommand('scripts/lab.ts', ['start', 's3']).status, 0);
    await waitClean(lab, 180);
  }
});

async function fingerprintOf(a: string): Promise<string> {
  return (
    await on(
      a,
      `find ${MANAGED} -xdev \\( -type f -o -type l \\) -printf '%p %s %T@\\n' 2>/dev/null | sort | sha256sum`,
    )
  ).out;
}

test('an unused lab address: unreachable, exit 1, nothing changes', async () => {
  const servers = serversFile([...lab.addresses, '172.30.0.99'], 'unused.txt');
  // Without the database: 4 servers would be an even member count, refused before SSH.
  const e = envWith({ DATABASE: 'none' }, 'nodb.env');
  await refused(
    ['--servers', servers, '--env', e],
    1,
    re(
      '172.30.0.99: host unreachable (ssh: connect to host 172.30.0.99 port 22: No route to host): check that 172.30.0.99 is up and that port 22 is open from here',
    ),
  );
});

test('the wrong user: authentication refused, named, exit 1, nothing changes', async () => {
  const servers = serversFile(
    lab.addresses.map((a, i) => (i === 1 ? `nobody@${a}` : a)),
    'user.txt',
  );
  await refused(
    ['--servers', servers, '--env', env],
    1,
    re(
      `nobody@${lab.addresses[1]}: authentication refused (nobody@${lab.addresses[1]}: Permission denied (publickey,password).): check SSH_USER / SSH_KEY in .env, your ssh-agent, or ~/.ssh/config`,
    ),
  );
});

test('the wrong key: authentication refused, exit 1, nothing changes', async () => {
  const key = join(dir, 'wrong_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const e = envWith({ SSH_KEY: key }, 'key.env');
  await refused(
    ['--servers', '.lab/servers.txt', '--env', e],
    1,
    re(
      `${lab.addresses[0]}: authentication refused (root@${lab.addresses[0]}: Permission denied (publickey,password).): check SSH_USER / SSH_KEY in .env, your ssh-agent, or ~/.ssh/config`,
    ),
  );
});

test('a changed host key: refused as a possible impostor, exit 1, nothing changes', async () => {
  const known = join(dir, 'known_hosts');
  const [s1 = '', s2 = ''] = lab.addresses;
  // s2's entry carries s1's host key: as if s2 had been replaced (the file is hashed).
  const s1Line = execFileSync('ssh-keygen', ['-F', s1, '-f', '.lab/known_hosts'], {
    encoding: 'utf8',
  })
    .split('\n')
    .find((l) => l !== '' && !l.startsWith('#'));
  const s1Key = s1Line?.split(' ').slice(1).join(' ');
  assert.ok(s1Key, 'no known host key for s1');
  writeFileSync(known, readFileSync('.lab/known_hosts'));
  execFileSync('ssh-keygen', ['-R', s2, '-f', known], { stdio: 'ignore' });
  writeFileSync(known, `${readFileSync(known, 'utf8')}${s2} ${s1Key}\n`);
  const e = envWith({ SSH_KNOWN_HOSTS: known }, 'hostkey.env');
  await refused(
    ['--servers', '.lab/servers.txt', '--env', e],
    1,
    re(
      `${s2}: host key changed (Host key verification failed.): if ${s2} was rebuilt on purpose, remove its line: ssh-keygen -R ${s2} -f ${known}; otherwise someone may be intercepting the connection`,
    ),
  );
});

test('a template with an error: named with its line, exit 1, nothing changes', async () => {
  const t = 'templates/web/maintenance.html.hbs';
  const original = readFileSync(t, 'utf8');
  writeFileSync(t, original.replace('</title>', '{{#if}}</title>'));
  try {
    await refused(['--servers', '.lab/servers.txt', '--env', env], 1, re('maintenance.html.hbs'));
  } finally {
    writeFileSync(t, original);
  }
});

/**
 * Two broken apps in one rollout (one server a group): one whose code does not import, one that
 * answers 500. The apps gate of the first server names both and stops the rollout there; the
 * others are untouched and the first server stays out of DNS until the apps are fixed.
 */
test('an app whose code does not import and an app that answers 500: the gate names both and stops the rollout at the first server', async () => {
  const apps = {
    app8: 'import no_such_module\n\ndef application(environ, start_response):\n    pass\n',
    app9: 'def application(environ, start_response):\n    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])\n    return [b"broken\\n"]\n',
  };
  for (const [name, code] of Object.entries(apps)) {
    mkdirSync(join('apps', name), { recursive: true });
    writeFileSync(join('apps', name, 'host'), `${name}\n`);
    writeFileSync(join('apps', name, 'app.wsgi'), code);
  }
  const [s1 = ''] = lab.addresses;
  try {
    const before = await fingerprints();
    const res = provisionWith(['--servers', '.lab/servers.txt', '--env', env, '--percent', '0.34']);
    const out = res.stdout + res.stderr;
    assert.is(res.status, 1, out);
    assert.match(
      out,
      re(
        `${s1}: ✗ apps gate: apps not answering 200: app8 is not running here (its code did not load?), app9 500\n`,
      ),
      out,
    );
    assert.match(
      out,
      re(`rollout: warning: stopped: ${lab.addresses[1]}, ${lab.addresses[2]} left untouched`),
      out,
    );
    // Only the first group (s1) was touched; it stays out of DNS.
    const after = await fingerprints();
    assert.is.not(after[0], before[0], 's1 was not changed');
    assert.equal(after.slice(1), before.slice(1), `the others changed:\n${out}`);
    assert.not.ok((await resolveAll(lab.dns, `app1.${lab.domain}`)).includes(s1), 's1 in DNS');
  } finally {
    for (const name of Object.keys(apps))
      rmSync(join('apps', name), { recursive: true, force: true });
    await provisionAsync(['--servers', '.lab/servers.txt', '--env', env]);
    await waitClean(lab, 120);
  }
});

test('a full disk on one server: preflight refuses it by name, exit 1, nothing changes', async () => {
  const [, s2 = ''] = lab.addresses;
  // The lab's servers share this machine's disk: s2 gets a `df` that reports / full instead.
  await on(
    s2,
    `printf '#!/bin/sh\\necho "Filesystem 1024-blocks Used Available Capacity Mounted on"\\necho "/dev/root 10000000 9990000 10000 100%% /"\\n' > /usr/local/bin/df && chmod +x /usr/local/bin/df`,
  );
  try {
    await refused(
      ['--servers', '.lab/servers.txt', '--env', env],
      1,
      re(`${s2}: only 10 MiB free on /; at least 1 GiB is needed`),
    );
  } finally {
    await on(s2, 'rm -f /usr/local/bin/df');
  }
});

test('a server whose clock is far off: preflight refuses it by name, exit 1, nothing changes', async () => {
  const [, , s3 = ''] = lab.addresses;
  // The lab's servers share this machine's clock: s3 gets a `date` that answers a year ahead.
  await on(
    s3,
    `printf '#!/bin/sh\\nif [ "$1" = +%%s ]; then echo $(( $(/bin/date +%%s) + 31536000 )); else exec /bin/date "$@"; fi\\n' > /usr/local/bin/date && chmod +x /usr/local/bin/date`,
  );
  try {
    await refused(
      ['--servers', '.lab/servers.txt', '--env', env],
      1,
      /clock is 315(3599[0-9]|3600[0-9]) s off this machine's; fix time sync/,
    );
  } finally {
    await on(s3, 'rm -f /usr/local/bin/date');
  }
});

test.run();
