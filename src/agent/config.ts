/**
 * The agent's configuration file (/etc/shoestring/agent.json, 0600 root): written by provision
 * from .env, read by the agent at start. It holds the DNS provider's credentials, so it is
 * written as a secret file and never shown in diffs.
 */
import type { Config, DnsConfig, WebServer } from '../config/env.ts';
import { PORTS } from '../components/ports.ts';
import { Secret } from '../redact.ts';

export interface AgentConfig {
  readonly host: string;
  /** This server's private address (the mesh watch listens there). */
  readonly private: string;
  /** The local fastrouter's stats port and the subscription server's port. */
  readonly ports: { readonly fastrouterStats: number; readonly subscription: number };
  readonly domain: string;
  readonly ttl: number;
  /** DNS_MAX_RECORDS (absent in a file written before it existed: the default). */
  readonly maxRecords?: number;
  readonly web: WebServer;
  readonly dns: SerializedDns;
  readonly acme: { directoryUrl: string; email: string; caBundle: string | undefined } | undefined;
  /** DNS servers polled until an ACME TXT value is visible; empty: the zone's name servers. */
  readonly authoritative: readonly string[];
  readonly health: {
    readonly everySeconds: number;
    readonly down: number;
    readonly up: number;
    readonly timeoutMs: number;
  };
  readonly election: { readonly ttl: number; readonly margin: number };
}

/** DnsConfig with its secrets as plain strings (the file is 0600). */
export type SerializedDns =
  | { provider: 'none' }
  | { provider: 'powerdns'; apiUrl: string; apiKey: string; zone: string }
  | {
      provider: 'cloudns';
      authId: string | undefined;
      subAuthId: string | undefined;
      password: string;
      zone: string;
    }
  | { provider: 'cloudflare'; apiToken: string; zone: string };

export const HEALTH_DEFAULTS = { everySeconds: 2, down: 3, up: 3, timeoutMs: 1500 } as const;
export const ELECTION_DEFAULTS = { ttl: 6, margin: 2 } as const;

export function serializeDns(dns: DnsConfig): SerializedDns {
  switch (dns.provider) {
    case 'none':
      return { provider: 'none' };
    case 'powerdns':
      return { ...dns, apiKey: dns.apiKey.reveal() };
    case 'cloudns':
      return { ...dns, password: dns.password.reveal() };
    case 'cloudflare':
      return { ...dns, apiToken: dns.apiToken.reveal() };
  }
}

export function deserializeDns(dns: SerializedDns): DnsConfig {
  switch (dns.provider) {
    case 'none':
      return { provider: 'none' };
    case 'powerdns':
      return { ...dns, apiKey: new Secret(dns.apiKey) };
    case 'cloudns':
      return { ...dns, password: new Secret(dns.password) };
    case 'cloudflare':
      return { ...dns, apiToken: new Secret(dns.apiToken) };
  }
}

/** Pure: the agent's configuration for one server. */
export function agentConfig(
  config: Config,
  host: string,
  privateAddress: string,
  caBundle: string | undefined,
): AgentConfig {
  return {
    host,
    private: privateAddress,
    ports: { fastrouterStats: PORTS.fastrouterStats, subscription: PORTS.subscription },
    domain: config.domain,
    ttl: config.dnsTtl,
    maxRecords: config.dnsMaxRecords,
    web: config.webServer,
    dns: serializeDns(config.dns),
    acme: config.acme
      ? { directoryUrl: config.acme.directoryUrl, email: config.acme.email, caBundle }
      : undefined,
    authoritative: config.labDns ? [`${config.labDns}`] : [],
    health: { ...HEALTH_DEFAULTS },
    election: { ...ELECTION_DEFAULTS },
  };
}

export function parseAgentConfig(text: string, file: string): AgentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const c = raw as Partial<AgentConfig>;
  for (const key of [
    'host',
    'private',
    'ports',
    'domain',
    'ttl',
    'web',
    'dns',
    'health',
    'election',
  ] as const) {
    if (c[key] === undefined) throw new Error(`${file}: ${key} is missing; re-run provision`);
  }
  return c as AgentConfig;
}

/** Pure: the members an etcd proxy forwards to, from its env file (undefined: not a proxy). */
export function proxyEndpoints(envText: string | undefined): string[] | undefined {
  const line = /^ETCD_PROXY_ENDPOINTS=(.*)$/m.exec(envText ?? '')?.[1];
  const list = (line ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^https:\/\/\S+$/.test(s));
  return list.length > 0 ? list : undefined;
}
