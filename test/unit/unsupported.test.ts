import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateEnv } from '../../src/config/env.ts';
import { unsupportedSettings } from '../../src/provision/unsupported.ts';

test('without a DNS provider: go on, and say what the user does by hand and what is missing', () => {
  const u = unsupportedSettings(validateEnv({ DOMAIN: 'example.com' }, '.env'));
  assert.equal(u.refuse, []);
  assert.equal(u.warn.length, 1);
  assert.match(
    u.warn[0]!,
    /DNS_PROVIDER=none: publish one \*\.example\.com and one example\.com A record per server yourself/,
  );
  assert.match(u.warn[0]!, /no health failover, no certificate/);
});

test('a managed DNS provider with TLS: nothing to say; a database is still refused', () => {
  const c = validateEnv(
    {
      DOMAIN: 'example.com',
      DATABASE: 'galera',
      DNS_PROVIDER: 'cloudflare',
      CLOUDFLARE_API_TOKEN: 'tok-123456',
      ACME_EMAIL: 'ops@example.com',
    },
    '.env',
  );
  const u = unsupportedSettings(c);
  assert.is(u.refuse.length, 1);
  assert.match(u.refuse[0]!, /DATABASE=galera: the database component is not in this version/);
  assert.equal(u.warn, []);
});

test.run();
