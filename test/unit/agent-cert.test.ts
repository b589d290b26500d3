/** The certificate's schedule and checks, the agent's configuration and etcd encoding (pure). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffSeconds, certInfo, keyMatches, renewalDue } from '../../src/agent/certificate.ts';
import {
  agentConfig,
  deserializeDns,
  parseAgentConfig,
  proxyEndpoints,
} from '../../src/agent/config.ts';
import { parseJson, parseKvs, prefixEnd } from '../../src/agent/etcd-gateway.ts';
import { stillHolding } from '../../src/agent/election.ts';
import { nginxSnippet } from '../../src/agent/cert-install.ts';
import { validateEnv } from '../../src/config/env.ts';
import { redact } from '../../src/redact.ts';

const day = 86_400_000;
const stored = (from: number, days: number, domains = ['example.com', '*.example.com']) => ({
  domains,
  notBefore: new Date(from).toISOString(),
  notAfter: new Date(from + days * day).toISOString(),
  issuedAt: new Date(from).toISOString(),
});

test('renewal: none → missing; at two thirds of its life (day 60 of 90), not before', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  assert.is(renewalDue(undefined, 'example.com', t0, undefined), 'missing');
  assert.is(renewalDue(stored(t0, 90), 'example.com', t0 + 59 * day, undefined), undefined);
  assert.is(renewalDue(stored(t0, 90), 'example.com', t0 + 60 * day, undefined), 'age');
  assert.is(
    renewalDue(stored(t0, 90, ['example.com']), 'example.com', t0 + day, undefined),
    'domains',
  );
  assert.is(renewalDue(stored(t0, 90), 'other.org', t0 + day, undefined), 'domains');
});

test('renewal asked for after the certificate was issued is due; an older request is not', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const c = stored(t0, 90);
  assert.is(renewalDue(c, 'example.com', t0 + day, new Date(t0 + 1000).toISOString()), 'requested');
  assert.is(renewalDue(c, 'example.com', t0 + day, new Date(t0 - 1000).toISOString()), undefined);
});

test('backoff: 30 s, doubling, at most an hour', () => {
  assert.equal([0, 1, 2, 3, 8, 20].map(backoffSeconds), [0, 30, 60, 120, 3600, 3600]);
});

test('certificate info and key check (a real certificate made by openssl)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-cert-'));
  const gen = (name: string) =>
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '90',
        '-subj',
        '/CN=example.com',
        '-addext',
        'subjectAltName=DNS:example.com,DNS:*.example.com',
        '-keyout',
        join(dir, `${name}.key`),
        '-out',
        join(dir, `${name}.crt`),
      ],
      { stdio: 'ignore' },
    );
  gen('a');
  gen('b');
  const cert = readFileSync(join(dir, 'a.crt'), 'utf8');
  const info = certInfo(cert);
  assert.equal(info.domains, ['example.com', '*.example.com']);
  const life = info.notAfter.getTime() - info.notBefore.getTime();
  assert.ok(Math.abs(life - 90 * day) < day);
  assert.ok(keyMatches(cert, readFileSync(join(dir, 'a.key'), 'utf8')));
  assert.not.ok(keyMatches(cert, readFileSync(join(dir, 'b.key'), 'utf8')));
  assert.not.ok(keyMatches(cert, 'not a key'));
});

test('the holder stops trusting itself before its lease can expire', () => {
  assert.ok(stillHolding(0, 3999, 6, 2));
  assert.not.ok(stillHolding(0, 4000, 6, 2));
});

test('etcd gateway encoding: prefix range end, base64 key/values, lease 0 is none', () => {
  assert.is(prefixEnd('/a/').toString(), '/a0');
  assert.equal(prefixEnd('\u00ff'), Buffer.from([0xc3, 0xc0]));
  const kvs = parseKvs([
    {
      key: Buffer.from('/k').toString('base64'),
      value: Buffer.from('v').toString('base64'),
      mod_revision: '7',
      lease: '0',
    },
  ]);
  assert.equal(kvs, [{ key: '/k', value: 'v', modRevision: 7, lease: undefined }]);
  assert.equal(parseKvs(undefined), []);
  assert.equal(parseJson('{"a":1}'), { a: 1 });
  assert.is(parseJson('not json'), undefined);
});

test("agent configuration: from .env, round trip of the provider's secret, still redacted", () => {
  const config = validateEnv(
    {
      DOMAIN: 'example.com',
      DNS_PROVIDER: 'powerdns',
      PDNS_API_URL: 'http://ns1.example.com:8081',
      PDNS_API_KEY: 'pdns-secret-key-42',
      ACME_EMAIL: 'ops@example.com',
      LAB_DNS: '10.1.2.3',
    },
    '.env',
  );
  const text = JSON.stringify(agentConfig(config, 's1', '10.88.0.1', undefined));
  const back = parseAgentConfig(text, 'agent.json');
  assert.is(back.host, 's1');
  assert.equal(back.authoritative, ['10.1.2.3']);
  assert.is(back.acme?.directoryUrl, 'https://acme-v02.api.letsencrypt.org/directory');
  const dns = deserializeDns(back.dns);
  assert.is(dns.provider, 'powerdns');
  if (dns.provider === 'powerdns') assert.is(dns.apiKey.reveal(), 'pdns-secret-key-42');
  assert.not.match(redact(text), /pdns-secret-key-42/);
  assert.throws(() => parseAgentConfig('{"host":"s1"}', 'agent.json'), /private is missing/);
  assert.throws(() => parseAgentConfig('nope', 'agent.json'), /agent\.json: not JSON/);
});

test("on a proxy server the agent reaches the voters' gateways (the gRPC proxy has none)", () => {
  const env = '# comment\nETCD_PROXY_ENDPOINTS=https://10.88.0.1:2379,https://10.88.0.2:2379\n';
  assert.equal(proxyEndpoints(env), ['https://10.88.0.1:2379', 'https://10.88.0.2:2379']);
  assert.is(proxyEndpoints(undefined), undefined);
  assert.is(proxyEndpoints('ETCD_PROXY_ENDPOINTS=\n'), undefined);
});

test('nginx snippet: 443 with the certificate files', () => {
  const s = nginxSnippet();
  assert.match(s, /listen 443 ssl;/);
  assert.match(s, /ssl_certificate \/etc\/shoestring\/tls\/fullchain\.pem;/);
  assert.match(s, /ssl_certificate_key \/etc\/shoestring\/tls\/privkey\.pem;/);
});

test.run();
