/**
 * The DnsProvider a configuration names (PowerDNS, ClouDNS, Cloudflare; none for 'none'), and
 * the pure comparison of A records that dry runs print.
 */
import type { DnsConfig } from '../config/env.ts';
import { CloudflareProvider } from './cloudflare.ts';
import { ClouDnsProvider } from './cloudns.ts';
import { PowerDnsProvider } from './powerdns.ts';
import type { DnsProvider } from './types.ts';

export interface ProviderOptions {
  /** Called before every request (the lab checks its network bridge here). */
  readonly beforeRequest?: (() => Promise<void>) | undefined;
}

export function dnsProviderFor(
  dns: DnsConfig,
  options: ProviderOptions = {},
): DnsProvider | undefined {
  const before =
    options.beforeRequest === undefined ? {} : { beforeRequest: options.beforeRequest };
  switch (dns.provider) {
    case 'none':
      return undefined;
    case 'powerdns':
      return new PowerDnsProvider({
        apiUrl: dns.apiUrl,
        apiKey: dns.apiKey,
        zone: dns.zone,
        ...before,
      });
    case 'cloudns':
      return new ClouDnsProvider({
        authId: dns.authId,
        subAuthId: dns.subAuthId,
        password: dns.password,
        zone: dns.zone,
        ...before,
      });
    case 'cloudflare':
      return new CloudflareProvider({ apiToken: dns.apiToken, zone: dns.zone, ...before });
  }
}

export interface RecordChanges {
  readonly add: string[];
  readonly remove: string[];
  readonly keep: string[];
}

/** What `setA(name, wanted)` changes when the name has `current` (each list sorted, unique). */
export function recordChanges(
  current: readonly string[],
  wanted: readonly string[],
): RecordChanges {
  const have = new Set(current);
  const want = new Set(wanted);
  const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();
  return {
    add: sorted([...want].filter((a) => !have.has(a))),
    remove: sorted([...have].filter((a) => !want.has(a))),
    keep: sorted([...want].filter((a) => have.has(a))),
  };
}
