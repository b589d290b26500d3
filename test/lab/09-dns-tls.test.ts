/**
 * DNS, health failover and the certificate against real servers: provision publishes one A
 * record per server for *.DOMAIN and DOMAIN at the lab's PowerDNS (through its API) and the
 * agent's duty holder obtains the wildcard certificate from the lab's pebble. A silently dead
 * server (partition) leaves DNS within 20 s and comes back within 20 s of heal, while requests
 * through the other servers keep working; a forced renewal reaches every server under an
 * HTTPS request loop with no failure; killing the duty holder moves the duties; a rolling
 * provision drains each group out of DNS before touching it.
 */
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { parse } from 'dotenv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pebbleRoot } from '../../src/lab/pebble.ts';
import { labDnsProvider } from '../../src/lab/dns.ts';
import { guardAddress } from '../../src/watch/guard.ts';
import { on, runAsync } from './helpers.ts';
import { labUp, runCommand, totals } from './provision-helpers.ts';
import { DOMAIN, envFile, get, labAddresses, provision, sleep } from './stack-checks.ts';

const env = () => parse(readFileSync('.lab/.env'));
const LAB_DNS = () => env()['LAB_DNS'] ?? '';
let addrs: string[] = [];
let root = '';

async function dig(name: string): Promise<string[]> {
  await guardAddress(LAB_DNS());
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([LAB_DNS()]);
  try {
    return (await r.resolve4(name)).sort();
  } catch {
    return [];
  }
}

/** Polls until `name` resolves to exactly `want`; returns the seconds it took. */
async function waitForRecords(name: string, want: string[], seconds: number): Promise<number> {
  const t0 = Date.now();
  let got: string[] = [];
  while (Date.now() - t0 < seconds * 1000) {
    got = await dig(name);
    if (got.join() === [...want].sort().join()) return (Date.now() - t0) / 1000;
    await sleep(500);
  }
  throw new Error(`${name}: ${got.join(' ')} after ${seconds} s, wanted ${want.join(' ')}`);
}

/** HTTPS GET to one server, checking the certificate against pebble's root. */
function httpsGet(
  address: string,
  host: string,
  path = '/',
): Promise<{ code: number; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: address,
        port: 443,
        path,
        servername: host,
        headers: { Host: host },
        ca: root,
        agent: false,
        timeout: 5000,
      },
      (res) => {
        const fingerprint =
          (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256 ?? '';
        res.resume();
        res.on('end', () => resolve({ code: res.statusCode ?? 0, fingerprint }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The certificate a server presents (fingerprint), verified against pebble's root. */
function fingerprintOf(address: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: address, port: 443, servername: host, ca: root }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    s.on('error', reject);
  });
}

interface Loop {
  stop(): Promise<{ total: number; failed: { at: number; address: string; error: string }[] }>;
}

/** Requests in a loop through `targets` (each in turn), over HTTPS or HTTP. */
function requestLoop(targets: string[], https: boolean, everyMs = 100): Loop {
  let running = true;
  let total = 0;
  const failed: { at: number; address: string; error: string }[] = [];
  const host = `app1.${DOMAIN()}`;
  const done = (async () => {
    let i = 0;
    while (running) {
      const address = targets[i++ % targets.length] ?? '';
      total++;
      // A failure is placed at its request's start: one already on its way to the silent
      // server fails only when the fastrouter gives up (8 s), long after the moment it belongs to.
      const at = Date.now();
      try {
        const code = https ? (await httpsGet(address, host)).code : (await get(address, host)).code;
        if (code !== 200) failed.push({ at, address, error: `HTTP ${code}` });
      } catch (e) {
        failed.push({ at, address, error: (e as Error).message });
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { total, failed };
    },
  };
}

/** A command in the background (the event loop keeps running: request loops, DNS polls). */
async function etcdGet(address: string, key: string): Promise<string> {
  return (await on(address, `etcdctl get --print-value-only ${key}`)).out;
}

async function holder(address: string): Promise<string> {
  const v = await etcdGet(address, '/shoestring/agent/holder');
  return (JSON.parse(v || '{}') as { host?: string }).host ?? '';
}

test.before(async () => {
  // The cluster the engine suite left (a no-op provision), or fresh servers when run alone.
  labUp(3);
  addrs = labAddresses();
  const res = provision(['--lab']);
  assert.is(res.status, 0, res.stdout + res.stderr);
  root = await pebbleRoot(LAB_DNS());
});

test('provision publishes one A record per server for *.DOMAIN and DOMAIN', async () => {
  assert.equal(await dig(`app1.${DOMAIN()}`), [...addrs].sort());
  assert.equal(await dig(`a.b.${DOMAIN()}`), [...addrs].sort());
  assert.equal(await dig(DOMAIN()), [...addrs].sort());
  // Another record of the zone is left alone.
  assert.equal(await dig(`ns1.${DOMAIN()}`), [LAB_DNS()]);
});

test('HTTPS on every server with the same certificate; HTTP redirects except /healthz', async () => {
  const host = `app1.${DOMAIN()}`;
  const prints = await Promise.all(addrs.map((a) => fingerprintOf(a, host)));
  assert.is(new Set(prints).size, 1, prints.join(' '));
  for (const a of addrs) {
    assert.is((await httpsGet(a, host)).code, 200);
    assert.is((await httpsGet(a, `app2.${DOMAIN()}`)).code, 200);
    assert.is((await httpsGet(a, DOMAIN(), '/healthz')).code, 200);
    const plain = await on(
      a,
      `curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: ${host}' http://127.0.0.1/x?y=1`,
    );
    assert.is(plain.out, `301 https://${host}/x?y=1`);
    const health = await on(a, `curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/healthz`);
    assert.is(health.out, '200');
  }
  // The key: root only; the apps' user cannot read it.
  const s1 = addrs[0] ?? '';
  assert.is((await on(s1, 'stat -c "%a %U" /etc/shoestring/tls/privkey.pem')).out, '600 root');
  assert.is.not(
    (await on(s1, 'runuser -u www-data -- cat /etc/shoestring/tls/privkey.pem')).code,
    0,
  );
  assert.is.not((await on(s1, 'runuser -u www-data -- cat /etc/shoestring/agent.json')).code, 0);
  // status shows the duty holder, every server in DNS, the certificate installed everywhere.
  const st = runCommand('scripts/status.ts', ['--lab', '--json'], 60_000);
  assert.is(st.status, 0, st.stdout + st.stderr);
  const cluster = (
    JSON.parse(st.stdout) as {
      cluster: {
        holder: { host: string };
        dns: { published: string[] };
        certificate: { serial: string; domains: string[] };
        installed: Record<string, string>;
      };
    }
  ).cluster;
  assert.match(cluster.holder.host, /^s\d$/);
  assert.equal([...cluster.dns.published].sort(), [...addrs].sort());
  assert.equal([...cluster.certificate.domains].sort(), [DOMAIN(), `*.${DOMAIN()}`].sort());
  assert.equal(
    Object.values(cluster.installed),
    addrs.map(() => cluster.certificate.serial),
  );
  assert.not.match(st.stdout, /PRIVATE KEY/);
  const text = runCommand('scripts/status.ts', ['--lab'], 60_000).stdout;
  assert.match(text, /agent duties: held by s\d/);
  assert.match(text, /installed on every server/);
});

test('a silent failure (partition): out of DNS within 20 s, back within 20 s of heal', async () => {
  const [s1 = '', s2 = '', s3 = ''] = addrs;
  const name = `app1.${DOMAIN()}`;
  const loop = requestLoop([s1, s2], true);
  runCommand('scripts/lab.ts', ['partition', 's3']);
  const t0 = Date.now();
  let out: number;
  try {
    out = await waitForRecords(name, [s1, s2], 20);
    await sleep(5000);
  } finally {
    runCommand('scripts/lab.ts', ['heal', 's3']);
  }
  const back = await waitForRecords(name, [s1, s2, s3], 20);
  const r = await loop.stop();
  console.log(
    `  partition: withdrawn after ${out.toFixed(1)} s, restored ${back.toFixed(1)} s after heal; ${r.failed.length}/${r.total} requests through s1, s2 failed`,
  );
  assert.ok(r.failed.length <= Math.ceil(r.total * 0.01), JSON.stringify(r.failed));
  assert.ok(
    r.failed.every((f) => f.at - t0 < 5000),
    JSON.stringify(r.failed),
  );
  // The change is recorded in etcd, by the duty holder.
  const changes = await etcdGet(s1, '/shoestring/dns/changes');
  assert.match(changes, /withdrawn: 3 failed \/healthz in a row/);
  assert.match(changes, /restored: 3 good \/healthz in a row/);
});

test('a forced renewal reaches every server while an HTTPS loop sees no failure', async () => {
  const host = `app1.${DOMAIN()}`;
  const before = await fingerprintOf(addrs[0] ?? '', host);
  const loop = requestLoop(addrs, true, 50);
  // In the background: the loop must keep running while the renewal goes on.
  const res = await runAsync('scripts/tls.ts', ['renew', '--lab', '--wait', '150']);
  await sleep(2000);
  const r = await loop.stop();
  assert.is(res.code, 0, res.stdout);
  const prints = await Promise.all(addrs.map((a) => fingerprintOf(a, host)));
  assert.is(new Set(prints).size, 1);
  assert.is.not(prints[0], before);
  assert.equal(r.failed, [], `${r.failed.length}/${r.total} failed`);
  assert.ok(r.total > 50);
});

test('killing the duty holder moves the duties; one server does each DNS edit', async () => {
  const first = addrs[0] ?? '';
  const was = await holder(first);
  assert.match(was, /^s\d$/);
  const index = Number(was.slice(1)) - 1;
  const dead = addrs[index] ?? '';
  const alive = addrs.filter((a) => a !== dead);
  // The log keeps the last 50 edits: the new ones are told by their time (the lab's servers
  // share this machine's clock).
  const killedAt = new Date().toISOString();
  runCommand('scripts/lab.ts', ['kill', was]);
  try {
    const t0 = Date.now();
    let now = was;
    while (Date.now() - t0 < 20_000 && (now === was || now === '')) {
      await sleep(500);
      now = await holder(alive[0] ?? '').catch(() => '');
    }
    assert.is.not(now, was, 'the duties did not move');
    await waitForRecords(`app1.${DOMAIN()}`, alive, 25);
    const changes = JSON.parse(await etcdGet(alive[0] ?? '', '/shoestring/dns/changes')) as {
      at: string;
      by: string;
      what: string;
    }[];
    const fresh = changes.filter((c) => c.at >= killedAt);
    assert.ok(fresh.length > 0);
    assert.ok(
      fresh.every((c) => c.by === now),
      JSON.stringify(fresh),
    );
    assert.is(fresh.filter((c) => c.what.startsWith(`${was} `)).length, 1, JSON.stringify(fresh));
  } finally {
    runCommand('scripts/lab.ts', ['start', was]);
  }
  await waitForRecords(`app1.${DOMAIN()}`, addrs, 120);
});

test('dry run shows the DNS change and makes none; provision makes it; then 0 changes', async () => {
  const name = `*.${DOMAIN()}`;
  const dns = labDnsProvider(LAB_DNS(), DOMAIN(), env()['PDNS_API_KEY'] ?? '');
  const [s1 = '', s2 = '', s3 = ''] = addrs;
  // Stop the agent's health duty from mending it first: it would put s3 back within seconds.
  await Promise.all(addrs.map((a) => on(a, 'systemctl stop shoestring-agent')));
  try {
    await dns.setA(name, [s1, s2], 60);
    const dry = provision(['--lab', '--dry-run']);
    assert.is(dry.status, 0, dry.stdout + dry.stderr);
    assert.match(
      dry.stdout,
      new RegExp(
        `would change \\*\\.${DOMAIN().replace(/\./g, '\\.')}: \\+${s3.replace(/\./g, '\\.')}`,
      ),
    );
    assert.equal(await dns.listA(name), [s1, s2].sort());
  } finally {
    await Promise.all(addrs.map((a) => on(a, 'systemctl start shoestring-agent')));
  }
  const res = provision(['--lab']);
  assert.is(res.status, 0, res.stdout + res.stderr);
  assert.equal(await dig(`app1.${DOMAIN()}`), [...addrs].sort());
  const again = provision(['--lab']);
  assert.is(again.status, 0, again.stdout + again.stderr);
  assert.is(totals(again.stdout).changed, 0);
  assert.not.match(again.stdout, /"changed \*\./);
});

test('a rolling provision drains each group out of DNS first, never all, then restores it', async () => {
  const changed = envFile({ FIREWALL_RULES: 'tcp dport 9999 accept' });
  const seen: string[][] = [];
  const run = runAsync('provision.ts', [
    '--json',
    '--servers',
    '.lab/servers.txt',
    '--env',
    changed,
    '--percent',
    '0.34',
  ]);
  let finished = false;
  void run.then(() => (finished = true));
  while (!finished) {
    seen.push(await dig(`app1.${DOMAIN()}`));
    await sleep(300);
  }
  const res = await run;
  assert.is(res.code, 0, res.stdout);
  // Every server was out at some point (its group drained), and never fewer than 2 were in.
  for (const a of addrs)
    assert.ok(
      seen.some((s) => !s.includes(a)),
      `${a} never drained`,
    );
  assert.ok(
    seen.every((s) => s.length >= 2),
    JSON.stringify(seen.filter((s) => s.length < 2)),
  );
  assert.match(res.stdout, /drain/);
  assert.equal(await dig(`app1.${DOMAIN()}`), [...addrs].sort());
  // Back to the lab's settings (the rule removed), leaving the cluster as the next suite expects.
  const back = provision(['--lab']);
  assert.is(back.status, 0, back.stdout + back.stderr);
});

test.run();
