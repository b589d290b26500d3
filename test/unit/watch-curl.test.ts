import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestOnce } from '../../src/watch/request.ts';
import {
  addressesFor,
  formatResult,
  formatSummary,
  newSummary,
  parseDuration,
  record,
  type RequestResult,
} from '../../src/watch/summary.ts';

const result = (o: Partial<RequestResult>): RequestResult => ({
  code: 200,
  remoteIp: '10.0.0.1',
  servedBy: 's1',
  skipped: [],
  error: undefined,
  ms: 3,
  ...o,
});

test('the line looks like the seed’s curl -w output', () => {
  assert.is(
    formatResult(result({ remoteIp: '172.30.0.12', servedBy: 's3' })),
    'http_code: 200 from remote_ip: 172.30.0.12 served_by: s3 time_ms: 3',
  );
});

test('summary per address and per serving server; skipped addresses count as failures there', () => {
  const s = newSummary();
  record(s, result({}));
  record(
    s,
    result({
      remoteIp: '10.0.0.2',
      servedBy: 's3',
      skipped: [{ address: '10.0.0.1', error: 'ECONNREFUSED' }],
    }),
  );
  record(s, result({ code: 0, remoteIp: '', servedBy: undefined, error: 'x' }));
  assert.equal(s.total, { ok: 2, fail: 1 });
  assert.equal(s.byAddress.get('10.0.0.1'), { ok: 1, fail: 1 });
  assert.equal(
    [...s.byServer.entries()],
    [
      ['s1', 1],
      ['s3', 1],
    ],
  );
  assert.match(formatSummary(s), /requests: 3 \(2 ok, 1 failed\)/);
});

test('durations', () => {
  assert.is(parseDuration('1s'), 1000);
  assert.is(parseDuration('250ms'), 250);
  assert.is(parseDuration('2m'), 120_000);
  assert.is(parseDuration('1.5'), 1500);
  assert.is(parseDuration('soon'), undefined);
});

test('addresses rotate per request; --resolve-all sends each to one address in turn', () => {
  const a = ['a', 'b', 'c'];
  assert.equal(addressesFor(a, 0, false), ['a', 'b', 'c']);
  assert.equal(addressesFor(a, 1, false), ['b', 'c', 'a']);
  assert.equal(
    [0, 1, 2, 3].map((i) => addressesFor(a, i, true)),
    [['a'], ['b'], ['c'], ['a']],
  );
  assert.equal(addressesFor([], 5, false), []);
});

test('a refused address is skipped and the next one answers (real sockets on loopback)', async () => {
  const server: Server = createServer((req, res) => {
    res.setHeader('X-Served-By', `box-${req.headers.host}`);
    res.end('hi');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const spec = {
      name: 'app1.example.test',
      path: '/',
      https: false,
      port,
      ca: undefined,
      connectTimeoutMs: 1000,
      timeoutMs: 3000,
    };
    // 127.0.0.2 is loopback too, but nothing listens there on that port: refused.
    const r = await requestOnce(spec, ['127.0.0.2', '127.0.0.1']);
    assert.is(r.code, 200);
    assert.is(r.remoteIp, '127.0.0.1');
    assert.is(r.servedBy, `box-app1.example.test:${port}`);
    assert.is(r.skipped[0]?.address, '127.0.0.2');
    const none = await requestOnce(spec, ['127.0.0.2']);
    assert.is(none.code, 0);
    assert.is(none.remoteIp, '');
  } finally {
    server.close();
  }
});

test.run();
