/** The cluster part of status and provision's certificate view: parsed and worded (pure). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clusterLines, parseClusterStatus } from '../../src/status/cluster.ts';
import { parseTlsView } from '../../src/provision/tls.ts';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const iso = (msAgo: number): string => new Date(NOW - msAgo).toISOString();

function output(parts: Record<string, string>): string {
  return Object.entries(parts)
    .map(([k, v]) => `@@shoestring-section ${k}\n${v}`)
    .join('\n');
}

const dnsState = {
  holder: 's2',
  at: iso(3000),
  book: {
    s1: { address: '192.0.2.1', in: true, failures: 0, successes: 9, since: NOW - 600_000 },
    s2: { address: '192.0.2.2', in: true, failures: 0, successes: 9, since: NOW - 600_000 },
    s3: {
      address: '192.0.2.3',
      in: false,
      failures: 4,
      successes: 0,
      reason: 'no answer in 1500 ms',
      since: NOW - 8000,
    },
  },
  published: ['192.0.2.1'],
  drained: [],
  keptLast: false,
};

test('holder, health round, servers in and out, last changes, certificate and where it is', () => {
  const c = parseClusterStatus(
    output({
      holder: JSON.stringify({ host: 's2', since: '2026-12-02T11:00:00Z' }),
      dns: JSON.stringify(dnsState),
      changes: JSON.stringify([{ at: iso(8000), by: 's2', what: 's3 (192.0.2.3) withdrawn' }]),
      tls: '',
      certificate: JSON.stringify({
        serial: 'AB12',
        notBefore: '2026-11-01T00:00:00Z',
        notAfter: '2027-01-30T00:00:00Z',
        domains: ['example.com', '*.example.com'],
        issuedBy: 's2',
      }),
      installed: `/shoestring/tls/installed/s1\n{"serial":"AB12"}\n/shoestring/tls/installed/s2\n{"serial":"AB12"}\n/shoestring/tls/installed/s3\n{"serial":"OLD"}`,
    }),
  );
  const lines = clusterLines(c, NOW);
  const text = lines.map((l) => `${l.level} ${l.text}`).join('\n');
  assert.match(text, /ok agent duties: held by s2/);
  assert.match(text, /ok last health round: 3 s ago by s2; in DNS: 192\.0\.2\.1/);
  assert.match(
    text,
    /warn {3}s3 192\.0\.2\.3: out of DNS, 4 failed check\(s\) \(no answer in 1500 ms\), since 8 s ago/,
  );
  assert.match(text, /ok {3}s1 192\.0\.2\.1: in DNS, since 10 min ago/);
  // Healthy but not published (a window of DNS_MAX_RECORDS): said so, not a warning.
  assert.match(
    text,
    /ok {3}s2 192\.0\.2\.2: healthy, not in DNS now \(DNS_MAX_RECORDS: servers take turns\)/,
  );
  assert.match(text, /s3 \(192\.0\.2\.3\) withdrawn/);
  // 58 days left, renewal from two thirds of its life (90 days from Nov 1: Dec 31).
  assert.match(
    text,
    /ok certificate: example\.com, \*\.example\.com, serial AB12, expires 2027-01-30T00:00:00Z \(58 days\), renewal from 2026-12-31/,
  );
  assert.match(text, /warn {3}not installed yet on s3/);
});

test('nobody holds the duties: bad; no certificate: sites on HTTP; an ACME error is shown', () => {
  const c = parseClusterStatus(
    output({
      holder: '',
      dns: '',
      changes: '',
      tls: JSON.stringify({
        lastAttempt: iso(60_000),
        lastError: 'rate limited',
        failures: 2,
        nextAttempt: '2026-12-02T12:01:00Z',
      }),
      certificate: '',
      installed: '',
    }),
  );
  const lines = clusterLines(c, NOW);
  assert.equal(
    lines.map((l) => l.level),
    ['bad', 'warn', 'warn', 'warn'],
  );
  assert.match(
    lines.map((l) => l.text).join('\n'),
    /certificate: none yet \(sites on HTTP\)[\s\S]*failed: rate limited; next 2026-12-02T12:01:00Z/,
  );
});

test('a certificate within 14 days of expiry is bad; garbage sections are ignored', () => {
  const c = parseClusterStatus(
    output({
      holder: 'not json',
      certificate: JSON.stringify({
        serial: 'X',
        notBefore: iso(80 * 86_400_000),
        notAfter: new Date(NOW + 10 * 86_400_000).toISOString(),
        domains: ['a.b'],
        issuedBy: 's1',
      }),
    }),
  );
  assert.is(c.holder, undefined);
  assert.ok(clusterLines(c, NOW).some((l) => l.level === 'bad' && /serial X/.test(l.text)));
});

test("provision's certificate view: serial, expiry, who installed which, last error, holder", () => {
  const v = parseTlsView(
    'AB12 2027-01-30T00:00:00.000Z\n--\n/shoestring/tls/installed/s1\n{"serial":"AB12"}\n/shoestring/tls/installed/s2\n{"serial":"OLD"}\n--\n{"lastError":"boom"}\n--\n{"host":"s2","since":"x"}\n',
  );
  assert.is(v.serial, 'AB12');
  assert.is(v.notAfter, '2027-01-30T00:00:00.000Z');
  assert.equal(
    [...v.installed],
    [
      ['s1', 'AB12'],
      ['s2', 'OLD'],
    ],
  );
  assert.is(v.lastError, 'boom');
  assert.is(v.holder, 's2');
  const none = parseTlsView('-\n--\n\n--\n\n--\n');
  assert.is(none.serial, undefined);
  assert.is(none.holder, undefined);
});

test.run();
