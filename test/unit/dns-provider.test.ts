/** The provider a configuration names, and the A-record comparison dry runs print. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CloudflareProvider } from '../../src/dns/cloudflare.ts';
import { ClouDnsProvider } from '../../src/dns/cloudns.ts';
import { PowerDnsProvider } from '../../src/dns/powerdns.ts';
import { dnsProviderFor, recordChanges } from '../../src/dns/provider.ts';
import { Secret } from '../../src/redact.ts';

test('dnsProviderFor builds the configured provider, none for none', () => {
  assert.is(dnsProviderFor({ provider: 'none' }), undefined);
  const pdns = dnsProviderFor({
    provider: 'powerdns',
    apiUrl: 'http://ns1.example.test:8081',
    apiKey: new Secret('pdns-key-123'),
    zone: 'example.test',
  });
  assert.instance(pdns, PowerDnsProvider);
  const cloudns = dnsProviderFor(
    {
      provider: 'cloudns',
      authId: undefined,
      subAuthId: '77',
      password: new Secret('cloudns-pw-123'),
      zone: 'example.test',
    },
    { beforeRequest: async () => {} },
  );
  assert.instance(cloudns, ClouDnsProvider);
  assert.is(cloudns?.name, 'cloudns');
  const cf = dnsProviderFor({
    provider: 'cloudflare',
    apiToken: new Secret('cf-token-123'),
    zone: 'example.test',
  });
  assert.instance(cf, CloudflareProvider);
});

test('recordChanges: add, remove, keep, each sorted and unique', () => {
  assert.equal(recordChanges(['192.0.2.2', '192.0.2.1'], ['192.0.2.3', '192.0.2.2', '192.0.2.3']), {
    add: ['192.0.2.3'],
    remove: ['192.0.2.1'],
    keep: ['192.0.2.2'],
  });
  assert.equal(recordChanges([], []), { add: [], remove: [], keep: [] });
  assert.equal(recordChanges(['192.0.2.1'], []), { add: [], remove: ['192.0.2.1'], keep: [] });
});

test.run();
