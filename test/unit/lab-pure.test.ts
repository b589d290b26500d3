/** Pure parts of the lab: apt sources parsing, subnet arithmetic, status table. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatStatus, formatUptime } from '../../src/lab/format.ts';
import { debianSources, oneLineEntries, parseDeb822, parseOneLine } from '../../src/lab/sources.ts';
import {
  contains,
  hostAddress,
  overlaps,
  parseSubnet,
  serverAddress,
} from '../../src/lab/subnet.ts';

const DEB822 = `Types: deb deb-src
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
`;

test('deb822 stanzas: deb only, enabled only, one entry per URI', () => {
  const s = parseDeb822(DEB822);
  assert.equal(
    s.map((x) => [x.uri, x.suites]),
    [
      ['http://mirror.example/debian', ['bookworm', 'bookworm-updates']],
      ['http://mirror.example/debian-security', ['bookworm-security']],
    ],
  );
  assert.is(s[0]?.signedBy, '/usr/share/keyrings/debian-archive-keyring.gpg');
});

test('one-line format: options, comments, deb-src ignored', () => {
  const s = parseOneLine(
    '# deb http://no.example/x bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\ndeb-src http://mirror.example/debian bookworm main\n',
  );
  assert.equal(s, [
    {
      uri: 'http://mirror.example/debian',
      suites: ['bookworm'],
      components: ['main'],
      signedBy: '/k.gpg',
    },
  ]);
});

test('debianSources keeps the release and its -updates/-security suites, http only', () => {
  const all = [
    ...parseDeb822(DEB822),
    { uri: 'https://other.example/apt', suites: ['bookworm'], components: ['main'] },
    { uri: 'http://other.example/apt', suites: ['nodistro'], components: ['main'] },
  ];
  assert.equal(oneLineEntries(debianSources('bookworm', all)), [
    'deb http://mirror.example/debian bookworm main contrib',
    'deb http://mirror.example/debian bookworm-updates main contrib',
    'deb http://mirror.example/debian-security bookworm-security main',
  ]);
  assert.throws(() => debianSources('trixie', all), /no plain-http source/);
});

test('subnet arithmetic: host .1, sN at .10+N, bad input refused', () => {
  const s = parseSubnet('172.30.0.0/24');
  assert.is(hostAddress(s), '172.30.0.1');
  assert.is(serverAddress(s, 1), '172.30.0.11');
  assert.is(serverAddress(s, 3), '172.30.0.13');
  assert.ok(contains(s, '172.30.0.200'));
  assert.not.ok(contains(s, '172.30.1.1'));
  assert.is(serverAddress(parseSubnet('10.9.0.0/16'), 300), '10.9.1.54');
  assert.throws(() => parseSubnet('172.30.0.1/24'), /host bits/);
  assert.throws(() => parseSubnet('172.30.0.0'), /expected/);
  assert.throws(() => serverAddress(s, 245), /at most/);
  assert.ok(overlaps(s, '172.30.0.0/16'));
  assert.ok(overlaps(s, '172.30.0.77'));
  assert.not.ok(overlaps(s, '172.30.1.0/24'));
  assert.not.ok(overlaps(s, '192.0.2.0/24'));
});

test('status table and uptime', () => {
  assert.is(formatUptime(null), '-');
  assert.is(formatUptime(5), '5s');
  assert.is(formatUptime(65), '1m05s');
  assert.is(formatUptime(3700), '1h01m');
  const text = formatStatus({
    up: true,
    subnet: '172.30.0.0/24',
    domain: 'shoestring.test',
    services: { aptProxy: true, dns: true, acme: false },
    servers: [{ name: 's1', address: '172.30.0.11', state: 'partitioned', uptimeSeconds: 12 }],
  });
  assert.match(text, /acme DOWN/);
  assert.match(text, /^s1 +172\.30\.0\.11 +partitioned +12s$/m);
  assert.is(
    formatStatus({
      up: false,
      services: { aptProxy: false, dns: false, acme: false },
      servers: [],
    }),
    'lab: down',
  );
});

test.run();
