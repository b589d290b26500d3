import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateEnv } from '../../src/config/env.ts';
import { unsupportedSettings } from '../../src/provision/unsupported.ts';

test('a plain HTTP cluster without DNS management: nothing to say', () => {
  assert.equal(unsupportedSettings(validateEnv({ DOMAIN: 'example.com' }, '.env')), {
    refuse: [],
    warn: [],
  });
});

test('settings this version does not act on are named: a database is refused, DNS and TLS warned', () => {
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
  assert.match(
    u.warn.join('\n'),
    /DNS records are not managed yet; publish one \*\.example\.com A record per server/,
  );
  assert.match(u.warn.join('\n'), /TLS=acme: certificates are not issued yet/);
});

test.run();
