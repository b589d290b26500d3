/** The lab boots real servers with DNS, ACME and an apt proxy, and fails on demand. */
import { X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import acme from 'acme-client';
import { issueWildcard } from '../../src/acme/issue.ts';
import { labDnsProvider } from '../../src/lab/dns.ts';
import { assertBridge } from '../../src/lab/network.ts';
import { down, power, remove, status, up } from '../../src/lab/lab.ts';
import { netnsName, paths, serverDir } from '../../src/lab/paths.ts';
import { acmeDirectoryUrl, pebbleCert, pebbleRoot } from '../../src/lab/pebble.ts';
import type { LabState } from '../../src/lab/state.ts';
import { log, on } from './helpers.ts';

const HOST = '172.30.0.1';
let lab: LabState;
const addr = (name: string): string => {
  const s = lab.servers.find((x) => x.name === name);
  if (!s) throw new Error(`no ${name}`);
  return s.address;
};

test.before(async () => {
  await down(log); // fresh servers, whatever an earlier suite left
  lab = await up(3, {}, log);
});

// Self-contained: leave no lab behind for the next suite (it boots its own).
test.after(async () => {
  await down(log);
});

test('up boots 3 servers and writes the lab files', () => {
  assert.equal(
    lab.servers.map((s) => s.name),
    ['s1', 's2', 's3'],
  );
  const servers = readFileSync(paths.serversTxt, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  assert.equal(servers, ['172.30.0.11', '172.30.0.12', '172.30.0.13']);
  const env = readFileSync(paths.env, 'utf8');
  const keys = env
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('=')[0]);
  assert.equal(keys, [
    'DOMAIN',
    'DNS_PROVIDER',
    'PDNS_API_URL',
    'PDNS_API_KEY',
    'PDNS_ZONE',
    'DNS_DRAIN_SECONDS',
    'ACME_DIRECTORY_URL',
    'ACME_CA_BUNDLE',
    'ACME_EMAIL',
    'SSH_USER',
    'SSH_KEY',
    'SSH_KNOWN_HOSTS',
    'LAB_DNS',
    'FAIL2BAN_IGNORE',
  ]);
  assert.match(env, /^PDNS_API_KEY=[0-9a-f]{48}$/m);
});

test('each server runs systemd with sshd, no default route, lab DNS only', async () => {
  for (const s of lab.servers) {
    const r = await on(
      s.address,
      'systemctl is-system-running --wait; systemctl is-active ssh; hostname; ip route show default | wc -l; cat /etc/resolv.conf; echo failed units:; systemctl --failed --no-legend --plain',
    );
    const [system, sshd, hostname, defaults] = r.out.split('\n');
    assert.is(system, 'running', `${s.name}: ${r.out}`);
    assert.is(sshd, 'active');
    assert.is(hostname, s.name);
    assert.is(defaults, '0', `${s.name} has a default route`);
    assert.match(r.out, /^nameserver 172\.30\.0\.1$/m);
  }
});

test('the host does not forward packets (servers cannot leave the machine)', () => {
  assert.is(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '0');
});

test('servers have distinct SSH host keys', async () => {
  const keys = new Set<string>();
  for (const s of lab.servers) {
    keys.add(
      (await on(s.address, 'cat /etc/ssh/ssh_host_ed25519_key.pub')).out.split(' ')[1] ?? '',
    );
  }
  assert.is(keys.size, 3);
});

test('apt works through the lab proxy', async () => {
  const r = await on(
    addr('s1'),
    'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q tree >/dev/null && tree --version',
  );
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /tree v/);
  const proxyLog = readFileSync(`${paths.aptProxy}/log/apt-cacher.log`, 'utf8');
  assert.match(proxyLog, /tree_/, 'the package came through the lab apt proxy');
});

test('the lab domain resolves through PowerDNS, also a record added through its API', async () => {
  await assertBridge(HOST);
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([HOST]);
  assert.equal(await r.resolve4(`s2.${lab.domain}`), [addr('s2')]);
  const dns = labDnsProvider(HOST, lab.domain, lab.pdnsApiKey);
  const name = `added-${Date.now()}.${lab.domain}`;
  await dns.setA(name, ['172.30.0.201', '172.30.0.200'], 60);
  assert.equal(await dns.listA(name), ['172.30.0.200', '172.30.0.201']);
  assert.equal((await r.resolve4(name)).sort(), ['172.30.0.200', '172.30.0.201']);
  const inside = await on(addr('s3'), `getent hosts ${name} s1.${lab.domain}`);
  assert.match(inside.out, /172\.30\.0\.20[01]/);
  await dns.setA(name, [], 60);
  assert.equal(await dns.listA(name), []);
});

test('TXT values are added and removed one by one, concurrently', async () => {
  await assertBridge(HOST);
  const dns = labDnsProvider(HOST, lab.domain, lab.pdnsApiKey);
  const name = `_acme-challenge.txt.${lab.domain}`;
  await Promise.all([
    dns.addTxt(name, 'one', 60),
    dns.addTxt(name, 'two', 60),
    dns.addTxt(name, 'one', 60),
  ]);
  const r = new Resolver();
  r.setServers([HOST]);
  const values = async (): Promise<string[]> =>
    (await r.resolveTxt(name).catch(() => [] as string[][])).map((c) => c.join('')).sort();
  assert.equal(await values(), ['one', 'two']);
  await Promise.all([dns.removeTxt(name, 'one'), dns.removeTxt(name, 'missing')]);
  assert.equal(await values(), ['two']);
  await dns.removeTxt(name, 'two');
  assert.equal(await values(), []);
});

test('pebble issues a certificate for the domain and its wildcard via DNS-01 and PowerDNS', async () => {
  const issued = await issueWildcard({
    directoryUrl: acmeDirectoryUrl(HOST),
    caBundle: readFileSync(pebbleCert, 'utf8'),
    domain: lab.domain,
    email: `ops@${lab.domain}`,
    dns: labDnsProvider(HOST, lab.domain, lab.pdnsApiKey),
    authoritativeServers: [HOST],
    guard: () => assertBridge(HOST),
    log,
  });
  const info = acme.crypto.readCertificateInfo(issued.cert);
  assert.equal([...info.domains.altNames].sort(), [`*.${lab.domain}`, lab.domain].sort());
  // The chain leads to pebble's root of this run.
  const pems =
    issued.cert.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  assert.ok(pems.length >= 2, 'leaf and intermediate');
  const [leaf, inter] = pems.map((p) => new X509Certificate(p));
  const root = new X509Certificate(await pebbleRoot(HOST)); // pebbleGet checks the bridge
  assert.ok(leaf!.verify(inter!.publicKey));
  assert.ok(inter!.verify(root.publicKey));
  assert.ok(
    leaf!.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(issued.key))),
  );
});

test('kill then start brings a server back with its disk', async () => {
  const s1 = addr('s1');
  const token = `disk-${Date.now()}`;
  assert.is((await on(s1, `echo ${token} > /root/marker && sync`)).code, 0);
  await power('kill', 's1', log);
  assert.is(status().servers.find((s) => s.name === 's1')?.state, 'stopped');
  assert.is.not((await on(s1, 'true')).code, 0, 'killed server still answers');
  await power('start', 's1', log);
  assert.is(status().servers.find((s) => s.name === 's1')?.state, 'running');
  assert.is((await on(s1, 'cat /root/marker')).out, token);
});

test('stop then start, and reboot, by name or address', async () => {
  const s3 = addr('s3');
  await on(s3, 'echo booted > /run/this-boot && echo kept > /root/kept');
  await power('stop', s3, log);
  assert.is(status().servers.find((s) => s.name === 's3')?.state, 'stopped');
  await power('start', 's3', log);
  assert.is(
    (await on(s3, 'cat /root/kept; test -e /run/this-boot && echo same-boot || echo new-boot')).out,
    'kept\nnew-boot',
  );
  await on(s3, 'echo booted > /run/this-boot');
  await power('reboot', 's3', log);
  const r = await on(
    s3,
    'systemctl is-system-running --wait; test -e /run/this-boot && echo same-boot || echo new-boot',
  );
  assert.is(r.out, 'running\nnew-boot');
});

test('partition cuts a server off from the others; heal restores it', async () => {
  const probe = `timeout 3 bash -c '</dev/tcp/${addr('s1')}/22' && echo reachable || echo unreachable`;
  assert.is((await on(addr('s2'), probe)).out, 'reachable');
  await power('partition', 's1', log);
  assert.is(status().servers.find((s) => s.name === 's1')?.state, 'partitioned');
  assert.is((await on(addr('s2'), probe)).out, 'unreachable');
  assert.is((await on(addr('s3'), probe)).out, 'unreachable');
  await power('heal', 's1', log);
  assert.is(status().servers.find((s) => s.name === 's1')?.state, 'running');
  assert.is((await on(addr('s2'), probe)).out, 'reachable');
});

test('up again repairs and grows: up 4 keeps s1-s3 running and adds s4', async () => {
  const before = status().servers.map((s) => s.uptimeSeconds);
  await power('kill', 's2', log);
  lab = await up(4, {}, log);
  const st = status();
  assert.equal(
    st.servers.map((s) => `${s.name}:${s.state}`),
    ['s1:running', 's2:running', 's3:running', 's4:running'],
  );
  assert.ok((st.servers[0]?.uptimeSeconds ?? 0) >= (before[0] ?? 0), 's1 was not restarted');
  assert.is((await on(addr('s4'), 'hostname')).out, 's4');
  assert.match(readFileSync(paths.serversTxt, 'utf8'), /^172\.30\.0\.14$/m);
});

test('remove deletes one server (disk, network, DNS record); up makes it anew', async () => {
  await on(addr('s4'), 'touch /root/left-behind');
  await remove('s4', log);
  assert.equal(
    status().servers.map((s) => s.name),
    ['s1', 's2', 's3'],
  );
  assert.not.match(readFileSync(paths.serversTxt, 'utf8'), /172\.30\.0\.14/);
  assert.not.ok(existsSync(serverDir('s4')), 'its disk is gone');
  assert.not.ok(existsSync(`/run/netns/${netnsName('s4')}`), 'its namespace is gone');
  const dns = labDnsProvider(HOST, lab.domain, lab.pdnsApiKey);
  assert.equal(await dns.listA(`s4.${lab.domain}`), []);
  assert.equal(await dns.listA(`s3.${lab.domain}`), [addr('s3')]);
  lab = await up(4, {}, log);
  assert.is(
    (await on(addr('s4'), 'test -e /root/left-behind && echo kept || echo fresh')).out,
    'fresh',
  );
  assert.equal(await dns.listA(`s4.${lab.domain}`), [addr('s4')]);
});

test.run();
