import { test } from 'uvu';
import type { App } from '../../src/apps/discover.ts';
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

test('a managed DNS provider with TLS and Galera: nothing to say; TiDB is warned about', () => {
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
  assert.equal(u, { refuse: [], warn: [] });
  const tidb = unsupportedSettings({ ...c, database: 'tidb' });
  assert.equal(tidb.refuse, []);
  assert.match(tidb.warn[0] ?? '', /DATABASE=tidb: TiUP deploys TiDB by a plan .* never run/);
});

test('an app asking for a database without DATABASE: a warning naming it', () => {
  const c = validateEnv({ DOMAIN: 'example.com' }, '.env');
  const app = { name: 'app2', database: true } as unknown as App;
  const u = unsupportedSettings(c, [app]);
  assert.equal(u.refuse, []);
  assert.match(
    u.warn.join('\n'),
    /DATABASE=none: app2 asks for a database .* gets none; set DATABASE=galera/,
  );
});

test.run();
