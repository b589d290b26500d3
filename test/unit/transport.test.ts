import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Transport, pMap } from '../../src/ssh/transport.ts';
import { summaryLine, summaryTable } from '../../src/cli/reporters.ts';

const t = new Transport({ user: 'admin', key: '/k/id', knownHosts: '/p/known_hosts' });
const opt = (args: string[], name: string) =>
  args.find((a, i) => args[i - 1] === '-o' && a.startsWith(`${name}=`));

test('ssh arguments: one multiplexed connection per host, project known_hosts, batch mode', () => {
  const args = t.sshArgs({ name: 'a', host: '192.0.2.1' });
  assert.is(opt(args, 'ControlMaster'), 'ControlMaster=auto');
  assert.match(opt(args, 'ControlPath') ?? '', /%C$/);
  assert.match(opt(args, 'ControlPersist') ?? '', /^ControlPersist=\d+$/);
  assert.is(opt(args, 'StrictHostKeyChecking'), 'StrictHostKeyChecking=accept-new');
  assert.is(opt(args, 'UserKnownHostsFile'), 'UserKnownHostsFile=/p/known_hosts');
  assert.is(opt(args, 'BatchMode'), 'BatchMode=yes');
  assert.ok(args.includes('-i') && args[args.indexOf('-i') + 1] === '/k/id');
  assert.is(args.at(-1), '192.0.2.1');
  assert.is(args[args.indexOf('-l') + 1], 'admin');
});

test('another key or known-hosts file gets a connection of its own, not an old master', () => {
  const path = (o: { key?: string; knownHosts: string }): string =>
    opt(new Transport(o).sshArgs({ name: 'a', host: '192.0.2.1' }), 'ControlPath') ?? '';
  const base = path({ key: '/k/id', knownHosts: '/p/known_hosts' });
  assert.is(path({ key: '/k/id', knownHosts: '/p/known_hosts' }), base);
  assert.is.not(path({ key: '/k/other', knownHosts: '/p/known_hosts' }), base);
  assert.is.not(path({ key: '/k/id', knownHosts: '/q/known_hosts' }), base);
  // The socket path stays well under the ~104 bytes a unix socket allows (%C is 40 hex digits).
  assert.ok(base.replace('ControlPath=', '').replace('%C', 'x'.repeat(40)).length < 100, base);
});

test('user and port from servers.txt win over .env', () => {
  const args = t.sshArgs({ name: 'b', host: 'web3.example.com', user: 'deploy', port: 2222 });
  assert.is(args[args.indexOf('-l') + 1], 'deploy');
  assert.is(args[args.indexOf('-p') + 1], '2222');
});

test('without SSH_USER/SSH_KEY, ssh config decides', () => {
  const plain = new Transport({ knownHosts: '/k' }).sshArgs({ name: 'c', host: 'h' });
  assert.not.ok(plain.includes('-l'));
  assert.not.ok(plain.includes('-i'));
});

test('pMap keeps order and bounds parallelism', async () => {
  let running = 0;
  let peak = 0;
  const out = await pMap([5, 1, 4, 2, 3], 2, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, n));
    running--;
    return n * 10;
  });
  assert.equal(out, [50, 10, 40, 20, 30]);
  assert.is(peak, 2);
});

test('the final table and summary line', () => {
  const hosts = [
    { host: '192.0.2.1', changed: 3, unchanged: 10, failed: false, seconds: 4.25 },
    { host: 's2', changed: 0, unchanged: 13, failed: true, seconds: 1 },
  ];
  assert.equal(summaryTable(hosts), [
    'host       changed  unchanged  failed  seconds',
    '192.0.2.1        3         10      no      4.3',
    's2               0         13     yes      1.0',
  ]);
  assert.is(
    summaryLine(hosts, 5, false),
    'Summary: 2 hosts · 3 changed · 23 unchanged · 1 failed · 5.0 s',
  );
  assert.is(
    summaryLine(hosts, 5, true),
    'Summary: 2 hosts · 3 to change · 23 unchanged · 1 failed · 5.0 s',
  );
});

test.run();
