/** PowerDNS provider: names, TXT quoting, and the read-modify-write of TXT values (fake API). */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonical, PowerDnsProvider, quoteTxt, unquoteTxt } from '../../src/dns/powerdns.ts';

test('canonical names and TXT quoting', () => {
  assert.is(canonical('Example.TEST'), 'example.test.');
  assert.is(canonical('example.test.'), 'example.test.');
  assert.is(quoteTxt('a"b\\c'), '"a\\"b\\\\c"');
  assert.is(unquoteTxt(quoteTxt('a"b\\c')), 'a"b\\c');
  assert.is(unquoteTxt('"part1" "part2"'), 'part1part2');
});

const body = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => resolve(b));
  });

test('concurrent addTxt/removeTxt keep each other’s values; the key is only a header', async () => {
  type Rec = { content: string; disabled: boolean };
  const rrsets = new Map<string, { ttl: number; records: Rec[] }>();
  const keys: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      keys.push(String(req.headers['x-api-key']));
      assert.not.match(req.url ?? '', /secret-key/);
      if (req.method === 'GET') {
        await new Promise((r) => setTimeout(r, 5)); // widen the race window
        const list = [...rrsets].map(([k, v]) => {
          const [name, type] = k.split('|');
          return { name, type, ...v };
        });
        res.end(JSON.stringify({ rrsets: list }));
        return;
      }
      const patch = JSON.parse(await body(req)) as {
        rrsets: { name: string; type: string; ttl: number; changetype: string; records?: Rec[] }[];
      };
      for (const r of patch.rrsets) {
        if (r.changetype === 'DELETE') rrsets.delete(`${r.name}|${r.type}`);
        else rrsets.set(`${r.name}|${r.type}`, { ttl: r.ttl, records: r.records ?? [] });
      }
      res.statusCode = 204;
      res.end();
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const dns = new PowerDnsProvider({
    apiUrl: `http://127.0.0.1:${port}/`,
    apiKey: 'secret-key',
    zone: 'example.test',
  });
  try {
    const name = '_acme-challenge.example.test';
    await Promise.all([
      dns.addTxt(name, 'one', 60),
      dns.addTxt(name, 'two', 60),
      dns.addTxt(name, 'three', 60),
    ]);
    assert.equal(
      rrsets
        .get(`${name}.|TXT`)
        ?.records.map((r) => r.content)
        .sort(),
      ['"one"', '"three"', '"two"'],
    );
    await Promise.all([dns.removeTxt(name, 'one'), dns.removeTxt(name, 'three')]);
    assert.equal(
      rrsets.get(`${name}.|TXT`)?.records.map((r) => r.content),
      ['"two"'],
    );
    await dns.removeTxt(name, 'two');
    assert.not.ok(rrsets.has(`${name}.|TXT`), 'last value removed deletes the RRset');
    await dns.setA('www.example.test', ['192.0.2.2', '192.0.2.1'], 60);
    assert.equal(await dns.listA('WWW.example.test.'), ['192.0.2.1', '192.0.2.2']);
    assert.ok(keys.every((k) => k === 'secret-key'));
    assert.is(String(dns), '[object Object]');
    assert.not.match(JSON.stringify(dns), /secret-key/);
  } finally {
    server.close();
  }
});

test.run();
