import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseServers, parseServerSpec } from '../../src/config/servers.ts';
import { ConfigError } from '../../src/errors.ts';

function problems(text: string): string[] {
  try {
    parseServers(text, 'servers.txt');
  } catch (e) {
    assert.instance(e, ConfigError);
    return [...(e as ConfigError).problems];
  }
  assert.unreachable('expected a ConfigError');
  return [];
}

test('comments, blank lines, IPv4, IPv6, names, user and port', () => {
  const servers = parseServers(
    [
      '# my servers',
      '',
      '192.0.2.10',
      '  192.0.2.11   # second',
      'deploy@web3.example.com:2222',
      '2001:db8::1',
      '[2001:db8::2]:22',
      'admin@[2001:db8::3]',
      'web4',
    ].join('\n'),
    'servers.txt',
  );
  assert.equal(
    servers.map((s) => [s.host, s.user, s.port, s.line]),
    [
      ['192.0.2.10', undefined, undefined, 3],
      ['192.0.2.11', undefined, undefined, 4],
      ['web3.example.com', 'deploy', 2222, 5],
      ['2001:db8::1', undefined, undefined, 6],
      ['2001:db8::2', undefined, 22, 7],
      ['2001:db8::3', 'admin', undefined, 8],
      ['web4', undefined, undefined, 9],
    ],
  );
});

test('CRLF line endings are accepted', () => {
  assert.equal(parseServers('192.0.2.1\r\n192.0.2.2\r\n', 'f').length, 2);
});

test('duplicates name both lines', () => {
  const p = problems('192.0.2.1\n# x\n192.0.2.1\n');
  assert.equal(p, [
    'servers.txt:3: "192.0.2.1" duplicates line 1 (the same host and port): remove one of them',
  ]);
});

test('same host on another port is not a duplicate; same host and default port is', () => {
  assert.equal(parseServers('h1\nh1:2222\n', 'f').length, 2);
  assert.equal(problems('h1\nroot@h1:22\n').length, 1);
});

test('malformed lines are each reported with file and line', () => {
  const p = problems('192.0.2.300\nbad_host!\nh1:99999\n192.0.2.1 192.0.2.2 x\n[not-v6]:22\n@h\n');
  assert.is(p.length, 6);
  assert.match(p[0]!, /^servers\.txt:1: "192\.0\.2\.300" is not a valid IPv4 address/);
  assert.match(p[1]!, /^servers\.txt:2: .*not a valid host name/);
  assert.match(p[2]!, /^servers\.txt:3: invalid port "99999"/);
  assert.match(p[3]!, /^servers\.txt:4: .*one server a line/);
  assert.match(p[4]!, /^servers\.txt:5: .*not an IPv6 address/);
  assert.match(p[5]!, /^servers\.txt:6: invalid user name/);
});

test('an empty file is an error unless allowed', () => {
  assert.throws(
    () => parseServers('# nothing\n\n', 'servers.txt'),
    (e: unknown) => e instanceof ConfigError && /servers\.txt lists no server/.test(e.message),
  );
  assert.equal(parseServers('', 'f', { allowEmpty: true }), []);
});

test('parseServerSpec returns messages rather than throwing', () => {
  assert.type(parseServerSpec('h:0'), 'string');
  assert.equal(parseServerSpec('u@h:22'), { host: 'h', user: 'u', port: 22 });
});

test('an overlong garbage line is cut to 80 characters in the message', () => {
  const garbage = 'x'.repeat(10_000);
  assert.equal(problems(`192.0.2.1\n${garbage}\n${garbage} ${garbage}\n`), [
    `servers.txt:2: "${'x'.repeat(79)}…" is not a valid host name or address`,
    `servers.txt:3: "${'x'.repeat(79)}…" after the server is not an IPv4 private address: write the server's IPv4 address on your private network there, or nothing`,
  ]);
});

test('a private address after every server is kept; for some only is refused', () => {
  const s = parseServers('root@203.0.113.1 10.0.0.1\n203.0.113.2:2222 10.0.0.2\n', 'f');
  assert.equal(
    s.map((x) => [x.spec, x.private]),
    [
      ['root@203.0.113.1', '10.0.0.1'],
      ['203.0.113.2:2222', '10.0.0.2'],
    ],
  );
  assert.equal(problems('h1 10.0.0.1\nh2\nh3\n'), [
    'servers.txt: lines 2, 3 give no private address while others do: give one for every server (a private network you already have) or for none (WireGuard makes one)',
  ]);
  assert.equal(problems('h1 10.0.0.1\nh2 10.0.0.1\n'), [
    "servers.txt:2: private address 10.0.0.1 is also line 1's: give each server its own",
  ]);
  assert.equal(problems('h1 10.0.0.1 10.0.0.2\n'), [
    'servers.txt:1: "h1 10.0.0.1 10.0.0.2": one server a line, then at most its private address',
  ]);
});

test.run();
