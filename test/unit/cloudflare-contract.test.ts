/**
 * Cloudflare provider against a fake of the documented API v4 (fixtures/fake-cloudflare.ts):
 * request shapes, pagination, exact A records, TXT values, error replies, retries and secrets.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CloudflareProvider } from '../../src/dns/cloudflare.ts';
import { retryAfterMs } from '../../src/dns/http.ts';
import { ShoestringError } from '../../src/errors.ts';
import { redact } from '../../src/redact.ts';
import {
  cfError,
  fakeCloudflare,
  ZONE_ID,
  type FakeCloudflare,
} from './fixtures/fake-cloudflare.ts';
import { json, rejection } from './fixtures/fake-http.ts';

const ZONE = 'example.test';
const TOKEN = 'cf-token-Zq81xY0wT4';
const LIST = `GET /zones/${ZONE_ID}/dns_records`;

async function withApi(
  body: (api: FakeCloudflare, dns: CloudflareProvider) => Promise<void>,
  token = TOKEN,
  zone = ZONE,
): Promise<void> {
  const api = await fakeCloudflare({ zone: ZONE, token: TOKEN });
  const dns = new CloudflareProvider({
    apiToken: token,
    zone,
    baseUrl: `${api.url}/client/v4`,
    timeoutMs: 300,
    retryDelaysMs: [1, 1, 1],
    maxRetryAfterMs: 50,
  });
  try {
    await body(api, dns);
    assert.equal(api.violations, [], 'every request as documented');
    for (const s of api.seen) assert.not.ok(s.url.includes(TOKEN), 'no token in a URL');
  } finally {
    await api.close();
  }
}

const failure = (p: Promise<unknown>): Promise<ShoestringError> => rejection(p, TOKEN);

const a = (api: FakeCloudflare, name: string): string[] =>
  [...api.records.values()]
    .filter((r) => r.type === 'A' && r.name === name)
    .map((r) => `${r.content}/${r.ttl}`)
    .sort();

test('Retry-After: seconds or a date, capped; the fallback otherwise', () => {
  assert.is(retryAfterMs('2', 100, 30_000), 2000);
  assert.is(retryAfterMs('120', 100, 30_000), 30_000);
  assert.is(retryAfterMs(null, 100, 30_000), 100);
  assert.is(retryAfterMs('soon', 100, 30_000), 100);
  assert.is(retryAfterMs(new Date(10_000).toUTCString(), 100, 30_000, 5_000), 5_000);
});

test('setA is exact for its name, follows pages, and touches nothing else', () =>
  withApi(async (api, dns) => {
    const wild = `*.${ZONE}`;
    const mx = api.add('MX', ZONE, 'mail.example.test');
    const other = api.add('A', `other.${ZONE}`, '198.51.100.9');
    const txt = api.add('TXT', wild, '"v=spf1 -all"');
    const five = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5'];
    await dns.setA(`*.${ZONE}.`, five, 60);
    assert.equal(
      a(api, wild),
      five.map((x) => `${x}/60`),
    );
    assert.equal(await dns.listA(wild), five, 'all three pages read');
    assert.is(api.calls().filter((c) => c === 'GET /zones').length, 1, 'zone id looked up once');

    api.seen.length = 0;
    await dns.setA(wild, ['192.0.2.5', '192.0.2.6'], 300);
    assert.equal(a(api, wild), ['192.0.2.5/300', '192.0.2.6/300']);
    const changes = api.calls().filter((c) => !c.startsWith('GET'));
    assert.equal(changes[0], `POST /zones/${ZONE_ID}/dns_records`, 'create before delete');
    assert.equal(
      changes.map((c) => c.split(' ')[0]),
      ['POST', 'PATCH', 'DELETE', 'DELETE', 'DELETE', 'DELETE'],
    );
    const post = api.seen.find((s) => s.method === 'POST');
    assert.equal(JSON.parse(post?.body ?? '{}'), {
      type: 'A',
      name: wild,
      content: '192.0.2.6',
      ttl: 300,
      proxied: false,
    });

    api.seen.length = 0;
    await dns.setA(wild, ['192.0.2.6', '192.0.2.5'], 300);
    assert.equal(api.calls(), [LIST], 'already correct: one read, no change');

    await dns.setA(wild, [], 300);
    assert.equal(a(api, wild), []);
    for (const id of [mx, other, txt]) assert.ok(api.records.has(id), `record ${id} untouched`);

    const outside = await failure(dns.listA('www.elsewhere.test'));
    assert.match(outside.hint ?? '', /CLOUDFLARE_ZONE/);
  }));

test('TXT values are added quoted beside each other and removed only when they match', () =>
  withApi(async (api, dns) => {
    const name = `_acme-challenge.${ZONE}`;
    api.add('TXT', name, 'older-unquoted-value');
    await dns.addTxt(name, 'apex-token', 60);
    await dns.addTxt(name, 'wildcard-token', 60);
    await dns.addTxt(name, 'wildcard-token', 60);
    await dns.addTxt(name, 'older-unquoted-value', 60);
    const txt = (): string[] =>
      [...api.records.values()]
        .filter((r) => r.type === 'TXT' && r.name === name)
        .map((r) => r.content)
        .sort();
    assert.equal(txt(), ['"apex-token"', '"wildcard-token"', 'older-unquoted-value']);
    await dns.removeTxt(name, 'apex-token');
    await dns.removeTxt(name, 'not-there');
    assert.equal(txt(), ['"wildcard-token"', 'older-unquoted-value']);

    // Listed as absent, then refused as an identical duplicate: the goal is reached.
    api.script(1, (_req, res) => json(res, 200, { success: true, errors: [], result: [] }));
    api.seen.length = 0;
    await dns.addTxt(name, 'wildcard-token', 60);
    assert.equal(api.calls(), [LIST, `POST /zones/${ZONE_ID}/dns_records`]);
    assert.equal(txt(), ['"wildcard-token"', 'older-unquoted-value']);
  }));

test('a refused token: one request, an error naming the setting and the permissions', async () => {
  await withApi(async (api, dns) => {
    const e = await failure(dns.listA(`www.${ZONE}`));
    assert.match(
      e.message,
      /^Cloudflare rejected CLOUDFLARE_API_TOKEN \(GET \/client\/v4\/zones → HTTP 403: 9109: Invalid access token\)$/,
    );
    assert.match(e.hint ?? '', /Zone → DNS → Edit and Zone → Zone → Read/);
    assert.is(api.seen.length, 1, 'not retried');
  }, 'cf-wrong-token-123');
  await withApi(async (api, dns) => {
    api.script(1, (_req, res) => cfError(res, 401, 10000, 'Authentication error'));
    const e = await failure(dns.listA(`www.${ZONE}`));
    assert.match(
      e.message,
      /Cloudflare rejected CLOUDFLARE_API_TOKEN .*10000: Authentication error/,
    );
  });
});

test('a zone the token cannot see is named, with CLOUDFLARE_ZONE', () =>
  withApi(
    async (_api, dns) => {
      const e = await failure(dns.setA('www.missing.test', ['192.0.2.1'], 60));
      assert.match(e.message, /no zone missing\.test/);
      assert.match(e.hint ?? '', /CLOUDFLARE_ZONE/);
    },
    TOKEN,
    'missing.test',
  ));

test('429 is retried for every method (Retry-After honoured); 5xx only for reads and deletes', () =>
  withApi(async (api, dns) => {
    const wild = `*.${ZONE}`;
    api.script(1, (_req, res) => {
      res.setHeader('Retry-After', '0');
      cfError(res, 429, 971, 'Please wait and consider throttling your request speed');
    });
    api.script(1, (_req, res) => cfError(res, 500, 10002, 'Internal error'));
    api.script(1, (_req, res) => cfError(res, 502, 0, 'Bad gateway'));
    await dns.setA(wild, ['192.0.2.1'], 60);
    assert.equal(api.calls().slice(0, 4), ['GET /zones', 'GET /zones', 'GET /zones', 'GET /zones']);

    api.seen.length = 0;
    api.script(1, (_req, res) => cfError(res, 429, 971, 'Please wait'), 'POST');
    await dns.setA(wild, ['192.0.2.1', '192.0.2.2'], 60);
    assert.is(api.calls().filter((c) => c.startsWith('POST')).length, 2, 'the create sent again');
    assert.equal(a(api, wild), ['192.0.2.1/60', '192.0.2.2/60']);

    api.seen.length = 0;
    api.script(1, (_req, res) => cfError(res, 502, 0, 'Bad gateway'), 'DELETE');
    await dns.setA(wild, ['192.0.2.1'], 60);
    assert.is(api.calls().filter((c) => c.startsWith('DELETE')).length, 2, 'the delete retried');
    assert.equal(a(api, wild), ['192.0.2.1/60']);

    api.seen.length = 0;
    api.script(1, (_req, res) => cfError(res, 500, 10002, 'Internal error'), 'POST');
    const e = await failure(dns.setA(wild, ['192.0.2.1', '192.0.2.7'], 60));
    assert.match(
      e.message,
      /^Cloudflare API: POST \/client\/v4\/zones\/[0-9a-f]+\/dns_records → HTTP 500 \(10002: Internal error\)$/,
    );
    assert.match(e.hint ?? '', /run again later/);
    assert.is(api.calls().filter((c) => c.startsWith('POST')).length, 1, 'a create is not resent');

    api.seen.length = 0;
    api.script(4, (_req, res) => cfError(res, 429, 971, 'Please wait'));
    const limited = await failure(dns.listA(wild));
    assert.match(limited.message, /HTTP 429 \(rate limited, 4 attempts: 971: Please wait\)/);
    assert.is(api.seen.length, 4);
  }));

test('a server that never answers: reads retried, a create not; the error says so', () =>
  withApi(async (api, dns) => {
    await dns.listA(`www.${ZONE}`); // the zone id is known from here on
    api.seen.length = 0;
    api.script(4, () => false);
    const e = await failure(dns.listA(`www.${ZONE}`));
    assert.match(
      e.message,
      /GET \/client\/v4\/zones\/[0-9a-f]+\/dns_records \(no answer within 0.3 s, 4 attempts\)/,
    );
    assert.not.match(e.message, /name\.exact|per_page/, 'no query string in errors');
    assert.is(api.seen.length, 4);

    api.seen.length = 0;
    api.script(1, () => false, 'POST');
    const c = await failure(dns.setA(`www.${ZONE}`, ['192.0.2.1'], 60));
    assert.match(
      c.message,
      /POST \/client\/v4\/zones\/[0-9a-f]+\/dns_records \(no answer within 0.3 s\)$/,
    );
    assert.match(c.hint ?? '', /may or may not have been applied/);
    assert.is(api.seen.length, 2);
  }));

test('the token is sent only as a Bearer header and never printed', () =>
  withApi(async (api, dns) => {
    await dns.setA(`www.${ZONE}`, ['192.0.2.1'], 60);
    for (const s of api.seen) {
      assert.is(s.headers['authorization'], `Bearer ${TOKEN}`);
      assert.not.ok(s.body.includes(TOKEN));
    }
    assert.not.match(JSON.stringify(dns), /cf-token/);
    assert.is(redact(`token ${TOKEN}`), 'token [REDACTED]');
  }));

test.run();
