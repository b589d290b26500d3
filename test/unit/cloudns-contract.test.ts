/**
 * ClouDNS provider against a fake of the documented API (fixtures/fake-cloudns.ts): request
 * shapes, exact A records, TXT values, failover checks, error replies, retries and secrets.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClouDnsProvider, cloudnsTtlProblem, parseRecords } from '../../src/dns/cloudns.ts';
import { failoverSettings, setupFailover } from '../../src/dns/cloudns-failover.ts';
import { ShoestringError } from '../../src/errors.ts';
import { fakeClouDns, type FakeClouDns } from './fixtures/fake-cloudns.ts';
import { json, rejection } from './fixtures/fake-http.ts';

const ZONE = 'example.test';
const PASSWORD = 'cloudns-pw-7f3a9c';
const AUTH_ID = '4321';

async function withApi(
  body: (api: FakeClouDns, dns: ClouDnsProvider) => Promise<void>,
  creds: { authId?: string; subAuthId?: string; password?: string } = { authId: AUTH_ID },
): Promise<void> {
  const api = await fakeClouDns({
    zone: ZONE,
    password: PASSWORD,
    authId: AUTH_ID,
    subAuthId: '77',
  });
  const dns = new ClouDnsProvider({
    ...creds,
    password: creds.password ?? PASSWORD,
    zone: ZONE,
    baseUrl: api.url,
    timeoutMs: 300,
    retryDelaysMs: [1, 1, 1],
  });
  try {
    await body(api, dns);
    assert.equal(api.violations, [], 'every request as documented');
    for (const s of api.seen) assert.not.ok(s.url.includes(PASSWORD), 'no secret in a URL');
  } finally {
    await api.close();
  }
}

/** The error `p` rejects with; checks it never shows the password. */
const failure = (p: Promise<unknown>): Promise<ShoestringError> => rejection(p, PASSWORD);

const aRecords = (api: FakeClouDns, host: string): string[] =>
  [...api.records.values()]
    .filter((r) => r.type === 'A' && r.host === host)
    .map((r) => `${r.record}/${r.ttl}`)
    .sort();

test('ttl check and records parsing', () => {
  assert.is(cloudnsTtlProblem(60), undefined);
  assert.is(cloudnsTtlProblem(3600), undefined);
  assert.match(cloudnsTtlProblem(120) ?? '', /^DNS_TTL=120 .*60, 300, 900, 1800/);
  assert.equal(parseRecords([]), []);
  assert.equal(parseRecords({}), []);
  assert.equal(
    parseRecords({
      '9': { id: '9', type: 'A', host: '*', record: '192.0.2.1', ttl: '60', status: 1 },
    }),
    [{ id: '9', type: 'A', host: '*', record: '192.0.2.1', ttl: 60, status: 1 }],
  );
});

test('setA is exact for its host and type and touches nothing else', () =>
  withApi(async (api, dns) => {
    const mx = api.add('MX', '', 'mail.example.test');
    const other = api.add('A', 'other', '198.51.100.9');
    const apex = api.add('A', '', '198.51.100.1');
    const txt = api.add('TXT', '*', 'not-an-a-record');

    await dns.setA(`*.${ZONE}`, ['192.0.2.1', '192.0.2.2'], 60);
    assert.equal(aRecords(api, '*'), ['192.0.2.1/60', '192.0.2.2/60']);
    assert.equal(await dns.listA(`*.${ZONE}.`), ['192.0.2.1', '192.0.2.2']);

    api.seen.length = 0;
    await dns.setA(`*.${ZONE}`, ['192.0.2.2', '192.0.2.3', '192.0.2.3'], 60);
    assert.equal(aRecords(api, '*'), ['192.0.2.2/60', '192.0.2.3/60']);
    assert.equal(api.calls(), ['records', 'add-record', 'delete-record'], 'add before delete');

    await dns.setA(`*.${ZONE}`, ['192.0.2.2', '192.0.2.3'], 300);
    assert.equal(aRecords(api, '*'), ['192.0.2.2/300', '192.0.2.3/300']);

    api.seen.length = 0;
    await dns.setA(`*.${ZONE}`, ['192.0.2.2', '192.0.2.3'], 300);
    assert.equal(api.calls(), ['records'], 'already correct: one read, no change');

    await dns.setA(ZONE, ['192.0.2.7'], 60);
    assert.equal(aRecords(api, ''), ['192.0.2.7/60'], 'apex is host ""');

    await dns.setA(`*.${ZONE}`, [], 60);
    assert.equal(aRecords(api, '*'), []);
    for (const id of [mx, other, txt]) assert.ok(api.records.has(id), `record ${id} untouched`);
    assert.not.ok(api.records.has(apex), 'the apex A record was replaced by its own setA');
    assert.is(api.records.get(other)?.record, '198.51.100.9');
  }));

test('an empty list arrives as [] or {}; a TTL ClouDNS refuses is caught before any request', () =>
  withApi(async (api, dns) => {
    assert.equal(await dns.listA(`www.${ZONE}`), []);
    api.emptyAsObject = true;
    assert.equal(await dns.listA(`www.${ZONE}`), []);
    const before = api.seen.length;
    const e = await failure(dns.setA(`www.${ZONE}`, ['192.0.2.1'], 120));
    assert.match(e.message, /DNS_TTL=120/);
    assert.is(api.seen.length, before);
    const outside = await failure(dns.listA('www.elsewhere.test'));
    assert.match(outside.hint ?? '', /CLOUDNS_ZONE/);
  }));

test('TXT values are added beside each other and removed only when they match', () =>
  withApi(async (api, dns) => {
    const name = `_acme-challenge.${ZONE}`;
    await dns.addTxt(name, 'apex-token', 60);
    await dns.addTxt(name, 'wildcard-token', 60);
    await dns.addTxt(name, 'wildcard-token', 60); // idempotent
    await dns.addTxt(`_acme-challenge.sub.${ZONE}`, 'sub-token', 60);
    const txt = (host: string): string[] =>
      [...api.records.values()]
        .filter((r) => r.type === 'TXT' && r.host === host)
        .map((r) => r.record)
        .sort();
    assert.equal(txt('_acme-challenge'), ['apex-token', 'wildcard-token']);
    assert.equal(txt('_acme-challenge.sub'), ['sub-token']);
    await dns.removeTxt(name, 'apex-token');
    await dns.removeTxt(name, 'never-added');
    assert.equal(txt('_acme-challenge'), ['wildcard-token']);
    assert.equal(txt('_acme-challenge.sub'), ['sub-token']);
  }));

test('bad credentials: one request, a clear error naming the settings', () =>
  withApi(
    async (api, dns) => {
      const e = await failure(dns.login());
      assert.match(e.message, /ClouDNS API: POST \/dns\/login\.json \(Invalid authentication/);
      assert.match(e.hint ?? '', /CLOUDNS_AUTH_PASSWORD/);
      assert.is(api.seen.length, 1, 'not retried');
    },
    { authId: AUTH_ID, password: 'wrong-password-123' },
  ));

test('a sub-user logs in with sub-auth-id', () =>
  withApi(
    async (api, dns) => {
      await dns.login();
      assert.is(new URLSearchParams(api.seen[0]?.body).get('sub-auth-id'), '77');
    },
    { subAuthId: '77' },
  ));

test('rate limits (200 + Failed, HTTP 429) are retried for any call; 5xx only for reads', () =>
  withApi(async (api, dns) => {
    api.script(2, (_req, res) =>
      json(res, 200, {
        status: 'Failed',
        statusDescription: 'Too many requests. Try again later.',
      }),
    );
    await dns.setA(`www.${ZONE}`, ['192.0.2.1'], 60);
    assert.equal(api.calls(), ['records', 'records', 'records', 'add-record']);

    api.seen.length = 0;
    api.script(1, (_req, res) => json(res, 429, { status: 'Failed' }));
    api.script(1, (_req, res) => json(res, 500, {}));
    api.script(1, (_req, res) => json(res, 502, {}));
    await dns.setA(`www.${ZONE}`, ['192.0.2.1', '192.0.2.2'], 60);
    const reads = api.calls().filter((c) => c === 'records').length;
    assert.is(reads, 4, 'the read was retried after 429, 500, 502');
    assert.equal(aRecords(api, 'www'), ['192.0.2.1/60', '192.0.2.2/60']);

    api.seen.length = 0;
    api.script(1, (_req, res) => json(res, 200, [])); // lists none: all three are created
    api.script(1, (_req, res) => json(res, 502, { error: 'bad gateway' }));
    const e = await failure(dns.setA(`www.${ZONE}`, ['192.0.2.1', '192.0.2.2', '192.0.2.9'], 60));
    assert.match(e.message, /^ClouDNS API: POST \/dns\/add-record\.json → HTTP 502/);
    assert.equal(api.calls(), ['records', 'add-record'], 'a create is not resent after a 5xx');

    api.seen.length = 0;
    api.script(4, (_req, res) => json(res, 429, {}));
    const limited = await failure(dns.listA(`www.${ZONE}`));
    assert.match(
      limited.message,
      /POST \/dns\/records\.json → HTTP 429 \(rate limited, 4 attempts\)/,
    );
    assert.is(api.seen.length, 4);
  }));

test('a server that never answers: reads retried, a create not; the error says so', () =>
  withApi(async (api, dns) => {
    api.script(4, () => false);
    const e = await failure(dns.listA(`www.${ZONE}`));
    assert.match(e.message, /dns\/records.json \(no answer within 0.3 s, 4 attempts\)/);
    assert.is(api.seen.length, 4);

    api.seen.length = 0;
    api.script(1, (_req, res) => json(res, 200, []));
    api.script(1, () => false);
    const c = await failure(dns.setA(`www.${ZONE}`, ['192.0.2.1'], 60));
    assert.match(c.message, /POST \/dns\/add-record\.json \(no answer within 0.3 s\)/);
    assert.match(c.hint ?? '', /may or may not have been applied/);
    assert.equal(api.calls(), ['records', 'add-record']);
  }));

test('failover: one HTTPS check per A record, unchanged when it matches, replaced when not', () =>
  withApi(async (api, dns) => {
    const a = api.add('A', '*', '192.0.2.1');
    const b = api.add('A', '*', '192.0.2.2');
    api.add('A', 'other', '192.0.2.3');
    assert.is(await failoverSettings(dns, a), undefined);
    const first = await setupFailover(dns, `*.${ZONE}`, { host: ZONE });
    assert.equal(
      first.map((r) => r.action),
      ['activated', 'activated'],
    );
    assert.equal(api.failover.get(a), {
      'auth-id': AUTH_ID,
      'auth-password': PASSWORD,
      'domain-name': ZONE,
      'record-id': a,
      check_type: '5',
      down_event_handler: '1',
      up_event_handler: '1',
      main_ip: '192.0.2.1',
      host: ZONE,
      port: '443',
      path: '/healthz',
      check_period: '60',
    });
    assert.is(api.failover.get(b)?.['main_ip'], '192.0.2.2');
    assert.is(api.failover.size, 2, 'the other name is not monitored');
    const state = await failoverSettings(dns, a);
    assert.is(state?.state, 'up');
    assert.is(state?.checkType, 5);

    const again = await setupFailover(dns, `*.${ZONE}`, { host: ZONE });
    assert.equal(
      again.map((r) => r.action),
      ['unchanged', 'unchanged'],
    );
    api.seen.length = 0;
    const moved = await setupFailover(dns, `*.${ZONE}`, { host: ZONE, path: '/health' });
    assert.equal(
      moved.map((r) => r.action),
      ['replaced', 'replaced'],
    );
    assert.is(api.failover.get(a)?.['path'], '/health');
    assert.ok(api.calls().includes('failover-deactivate'));
  }));

test.run();
