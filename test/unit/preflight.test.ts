import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkCluster, checkHost } from '../../src/preflight/check.ts';
import { parsePreflight } from '../../src/preflight/probe.ts';
import { surveyOutput } from '../../src/provision/context.ts';
import { classifySshFailure, backoffMs } from '../../src/ssh/classify.ts';
import { q } from '../../src/ssh/quote.ts';

const sample = `@@shoestring:facts
hostname=s1
os_id=debian
os_version=12
os_pretty=Debian GNU/Linux 12 (bookworm)
addresses=172.30.0.11 
mem_kib=2048000
cpus=2
disk_kib=10485760
epoch=1700000000
container=systemd-nspawn
systemd=yes
provisioned=no
@@shoestring:listening
0.0.0.0:22 users:(("sshd",pid=1,fd=3))
0.0.0.0:80 users:(("nginx",pid=2,fd=3))
127.0.0.1:2379 users:(("etcd",pid=3,fd=3))
`;

test('preflight output is parsed', () => {
  const f = parsePreflight(sample, 's1');
  assert.is(f.hostname, 's1');
  assert.equal(f.addresses, ['172.30.0.11']);
  assert.is(f.memMiB, 2000);
  assert.is(f.cpus, 2);
  assert.is(f.container, 'systemd-nspawn');
  assert.is(f.listening.get(80), 'nginx');
  assert.is(f.listening.get(2379), 'etcd');
  assert.is(f.provisioned, false);
});

test('etcd’s metrics port (its /health without a certificate) held by another program is refused', () => {
  const busy = sample.replace(
    '127.0.0.1:2379 users:(("etcd",pid=3,fd=3))',
    '127.0.0.1:2379 users:(("etcd",pid=3,fd=3))\n127.0.0.1:2381 users:(("node_exporter",pid=4,fd=3))',
  );
  const v = checkHost({
    host: 's1',
    facts: parsePreflight(busy, 's1'),
    localEpoch: 1700000000,
    database: 'none',
    webServer: 'nginx',
  });
  assert.match(v.problems.join('\n'), /port 2381 \(etcd metrics\) is held by node_exporter/);
});

test('a healthy host passes; switching fronts only warns', () => {
  const v = checkHost({
    host: 's1',
    facts: parsePreflight(sample, 's1'),
    localEpoch: 1700000001,
    database: 'none',
    webServer: 'apache',
  });
  assert.equal(v.problems, []);
  assert.match(v.warnings.join(), /nginx holds port 80 but WEB_SERVER=apache/);
});

test('unsupported OS, small memory, full disk, skewed clock, busy port are refused', () => {
  const bad = sample
    .replace('os_id=debian', 'os_id=centos')
    .replace('mem_kib=2048000', 'mem_kib=204800')
    .replace('disk_kib=10485760', 'disk_kib=1024')
    .replace('0.0.0.0:80 users:(("nginx"', '0.0.0.0:80 users:(("caddy"');
  const v = checkHost({
    host: 's1',
    facts: parsePreflight(bad, 's1'),
    localEpoch: 1700000100,
    database: 'none',
    webServer: 'apache',
  });
  const text = v.problems.join('\n');
  assert.match(text, /not supported/);
  assert.match(text, /200 MiB of memory/);
  assert.match(text, /only 1 MiB free/);
  assert.match(text, /clock is 100 s off/);
  assert.match(text, /port 80 \(web front\) is held by caddy/);
});

test('TiDB on a budget VPS warns with the vendor minimums', () => {
  const v = checkHost({
    host: 's1',
    facts: parsePreflight(sample, 's1'),
    localEpoch: 1700000000,
    database: 'tidb',
    webServer: 'apache',
  });
  assert.match(v.warnings.join(), /vendor minimum is 8 cores and 16 GiB/);
});

test('even member counts warn', () => {
  assert.equal(checkCluster(3).warnings, []);
  assert.match(checkCluster(2).warnings.join(), /cannot keep a quorum/);
  assert.match(checkCluster(4).warnings.join(), /even member count/);
});

test('ssh failures are told apart from failing commands', () => {
  assert.is(
    classifySshFailure(255, 'ssh: connect to host x port 22: Connection refused'),
    'unreachable',
  );
  assert.is(classifySshFailure(255, 'root@x: Permission denied (publickey).'), 'auth');
  assert.is(
    classifySshFailure(255, '@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@'),
    'host-key-changed',
  );
  assert.is(
    classifySshFailure(255, 'ssh: connect to host x port 22: Connection timed out'),
    'timeout',
  );
  assert.is(classifySshFailure(255, 'Timeout, server 192.0.2.1 not responding.'), 'timeout');
  assert.is(classifySshFailure(1, 'Permission denied'), undefined);
  assert.is(classifySshFailure(255, 'some command exited 255'), undefined);
  assert.equal([1, 2, 3, 4, 5].map(backoffMs), [1000, 2000, 4000, 8000, 8000]);
});

test('shell quoting', () => {
  assert.is(q('plain/path-1.conf'), 'plain/path-1.conf');
  assert.is(q("it's"), `'it'\\''s'`);
  assert.is(q('$(rm -rf /)'), `'$(rm -rf /)'`);
  assert.is(q(''), `''`);
});

test('surveys ride in the preflight output: each component gets its own part, sections and all', () => {
  const out = `${sample}@@shoestring:survey:etcd\n@@shoestring:role\nmember\n@@shoestring:survey:db\nsynced\n`;
  assert.is(surveyOutput(out, 'etcd'), '@@shoestring:role\nmember');
  assert.is(surveyOutput(out, 'db'), 'synced\n');
  assert.is(surveyOutput(out, 'web'), '');
  // Preflight's own sections end where the first survey starts.
  assert.is(parsePreflight(out, 's1').listening.size, 3);
});

test.run();
