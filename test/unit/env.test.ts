import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { ENV_KEYS, validateEnv } from '../../src/config/env.ts';
import { ConfigError } from '../../src/errors.ts';
import { clearSecrets, redact } from '../../src/redact.ts';

function problems(raw: Record<string, string>): string[] {
  try {
    validateEnv(raw, '.env');
  } catch (e) {
    assert.instance(e, ConfigError);
    return [...(e as ConfigError).problems];
  }
  assert.unreachable('expected a ConfigError');
  return [];
}

test('a minimal .env: only DOMAIN', () => {
  const c = validateEnv({ DOMAIN: 'Example.COM.' }, '.env');
  assert.is(c.domain, 'example.com');
  assert.is(c.webServer, 'apache');
  assert.is(c.database, 'none');
  assert.is(c.dns.provider, 'none');
  assert.is(c.acme, undefined);
  assert.is(c.dnsTtl, 60);
  assert.ok(Object.isFrozen(c));
});

test('every missing or invalid key is listed at once, with what it is for', () => {
  const p = problems({
    DNS_PROVIDER: 'powerdns',
    WEB_SERVER: 'iis',
    DNS_TTL: '5',
    PDNS_API_URL: 'ftp://x',
    DOMIAN: 'x.com',
  });
  const text = p.join('\n');
  assert.match(text, /DOMAIN is missing: the domain the cluster serves/);
  assert.match(text, /WEB_SERVER=iis is not one of apache, nginx/);
  assert.match(text, /DNS_TTL=5 must be a whole number/);
  assert.match(text, /PDNS_API_URL=ftp:\/\/x is not an http\(s\) URL/);
  assert.match(text, /PDNS_API_KEY is missing/);
  assert.match(text, /ACME_EMAIL is missing/);
  assert.match(text, /DOMIAN is not a Shoestring setting/);
  assert.ok(p.length >= 7);
});

test('invalid domains are refused', () => {
  for (const d of ['localhost', 'exa mple.com', '-bad.com', 'a..b.com', 'x.123']) {
    assert.ok(
      problems({ DOMAIN: d }).some((l) => l.includes('not a valid domain')),
      d,
    );
  }
});

test('powerdns with TLS by ACME', () => {
  clearSecrets();
  const c = validateEnv(
    {
      DOMAIN: 'shop.example.com',
      DNS_PROVIDER: 'powerdns',
      PDNS_API_URL: 'http://ns:8081/',
      PDNS_API_KEY: 'k3y-value-123',
      PDNS_ZONE: 'example.com',
      ACME_EMAIL: 'ops@example.com',
    },
    '.env',
  );
  assert.ok(
    c.dns.provider === 'powerdns' &&
      c.dns.apiUrl === 'http://ns:8081' &&
      c.dns.zone === 'example.com',
  );
  assert.is(c.acme?.email, 'ops@example.com');
  assert.match(c.acme?.directoryUrl ?? '', /^https:\/\//);
  // The key was registered as a secret and never prints.
  assert.is(redact('key=k3y-value-123'), 'key=[REDACTED]');
  assert.is(JSON.stringify(c).includes('k3y-value-123'), false);
});

test('a zone that does not contain the domain is refused', () => {
  const p = problems({
    DOMAIN: 'example.com',
    DNS_PROVIDER: 'cloudflare',
    CLOUDFLARE_API_TOKEN: 'tok-12345',
    CLOUDFLARE_ZONE: 'other.org',
    TLS: 'off',
  });
  assert.equal(p, ['DNS zone other.org does not contain DOMAIN=example.com']);
});

test('cloudns needs exactly one of the two ids', () => {
  assert.match(
    problems({
      DOMAIN: 'example.com',
      DNS_PROVIDER: 'cloudns',
      CLOUDNS_AUTH_PASSWORD: 'pw-12345',
      TLS: 'off',
    }).join(),
    /CLOUDNS_AUTH_ID or CLOUDNS_SUB_AUTH_ID is missing/,
  );
  assert.match(
    problems({
      DOMAIN: 'example.com',
      DNS_PROVIDER: 'cloudns',
      CLOUDNS_AUTH_ID: '1',
      CLOUDNS_SUB_AUTH_ID: '2',
      CLOUDNS_AUTH_PASSWORD: 'pw-12345',
      TLS: 'off',
    }).join(),
    /only one/,
  );
});

test('TLS=acme without a DNS provider is explained', () => {
  assert.match(
    problems({ DOMAIN: 'example.com', TLS: 'acme', ACME_EMAIL: 'a@b.cd' }).join(),
    /needs a DNS_PROVIDER/,
  );
});

test('.env.example documents exactly the keys the code reads', () => {
  const example = parse(readFileSync('.env.example'));
  const documented = new Set(
    [...readFileSync('.env.example', 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map(
      (m) => m[1],
    ),
  );
  for (const k of Object.keys(example)) documented.add(k);
  assert.equal([...documented].sort(), Object.keys(ENV_KEYS).sort());
});

test.run();
