/**
 * `.env`: loaded with dotenv (parse only: the process environment is not touched) and
 * validated into one frozen, typed object. Every problem is reported at once, naming the key
 * and what it is for. `.env.example` documents the same keys (a unit test keeps them in step).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve, dirname } from 'node:path';
import { homedir } from 'node:os';
import { parse } from 'dotenv';
import { ConfigError } from '../errors.ts';
import { duplicateKeys, malformedLines, readableFileProblem } from './env-checks.ts';
import { firewallSettings, networkSettings } from './network-settings.ts';
import { tidbSettings } from './tidb-settings.ts';
import { Secret } from '../redact.ts';
import { clip } from './clip.ts';
import { cloudnsTtlProblem } from '../dns/cloudns.ts';
import { DEFAULT_MAX_RECORDS } from '../dns/window.ts';
import { DEFAULT_TTL_SECONDS } from '../lock/record.ts';

export type DnsProviderName = 'none' | 'powerdns' | 'cloudns' | 'cloudflare';
export type WebServer = 'apache' | 'nginx';
export type Database = 'none' | 'galera' | 'tidb';

export interface Config {
  readonly file: string;
  readonly domain: string;
  readonly webServer: WebServer;
  readonly database: Database;
  readonly dns: DnsConfig;
  readonly dnsTtl: number;
  /** Seconds a rolling group waits after its records are withdrawn (default: the TTL). */
  readonly dnsDrainSeconds: number;
  /** At most this many A records per name; more healthy servers take turns (src/dns/window.ts). */
  readonly dnsMaxRecords: number;
  readonly acme: AcmeConfig | undefined;
  readonly ssh: SshConfig;
  /** Resolver to use for the cluster's names (the lab's DNS); the system's when undefined. */
  readonly labDns: string | undefined;
  readonly network: NetworkConfig;
  readonly firewall: FirewallConfig;
  readonly backup: BackupConfig;
  /** DATABASE=tidb only: where TiUP comes from and which TiDB it deploys. */
  readonly tidb: TidbConfig | undefined;
  /** Seconds the operator lock outlives a run that died holding it (src/lock/). */
  readonly lockTtl: number;
}

/** The database's scheduled backups (on every member). */
export interface BackupConfig {
  /** systemd OnCalendar expression. */
  readonly schedule: string;
  /** Backups kept on each member. */
  readonly keep: number;
}

/** DATABASE=tidb: TiUP's mirror and the TiDB release (src/config/tidb-settings.ts). */
export interface TidbConfig {
  /** An http(s) TiUP mirror, without a trailing slash. */
  readonly mirror: string;
  /** A TiDB release, e.g. v7.5.1. */
  readonly version: string;
}

/** The private network (WireGuard, unless servers.txt gives every server a private address). */
export interface NetworkConfig {
  /** The range private addresses are given from, e.g. 10.88.0.0/24. */
  readonly cidr: string;
  /** WireGuard's UDP port. */
  readonly port: number;
}

export interface FirewallConfig {
  readonly enabled: boolean;
  /** Where SSH may come from (addresses or CIDRs); empty = anywhere. */
  readonly sshFrom: readonly string[];
  /** The user's own nftables rules for the input chain, one statement each. */
  readonly rules: readonly string[];
  readonly fail2ban: boolean;
  /** Addresses or CIDRs fail2ban never bans (the cluster's own are always added). */
  readonly fail2banIgnore: readonly string[];
}

export type DnsConfig =
  | { readonly provider: 'none' }
  | {
      readonly provider: 'powerdns';
      readonly apiUrl: string;
      readonly apiKey: Secret;
      readonly zone: string;
    }
  | {
      readonly provider: 'cloudns';
      readonly authId: string | undefined;
      readonly subAuthId: string | undefined;
      readonly password: Secret;
      readonly zone: string;
    }
  | { readonly provider: 'cloudflare'; readonly apiToken: Secret; readonly zone: string };

export interface AcmeConfig {
  readonly directoryUrl: string;
  readonly email: string;
  readonly caBundle: string | undefined;
}

export interface SshConfig {
  readonly user: string | undefined;
  readonly key: string | undefined;
  readonly knownHosts: string;
}

/** Every key the tool reads, with what it is for (shown in errors and kept in step with .env.example). */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  DOMAIN: 'the domain the cluster serves; apps answer at <app>.DOMAIN',
  WEB_SERVER: 'the web front: apache (default) or nginx',
  DATABASE: 'the replicated database: none (default), galera or tidb',
  BACKUP_SCHEDULE:
    'when each database member takes a backup: a systemd calendar expression (default daily)',
  BACKUP_KEEP: 'backups each database member keeps (default 7)',
  DNS_PROVIDER: 'who serves DNS for DOMAIN: none, powerdns, cloudns or cloudflare',
  DNS_TTL: 'TTL in seconds of the A records Shoestring manages (default 60)',
  DNS_DRAIN_SECONDS:
    "seconds a rolling group waits after its records are withdrawn (default DNS_TTL: resolvers' caches)",
  DNS_MAX_RECORDS: `at most this many A records per name (default ${DEFAULT_MAX_RECORDS}: the answer fits in 512 bytes); more healthy servers take turns`,
  PDNS_API_URL: 'PowerDNS HTTP API base URL, e.g. http://ns1.example.com:8081',
  PDNS_API_KEY: 'PowerDNS API key (X-API-Key)',
  PDNS_ZONE: 'PowerDNS zone holding DOMAIN (default DOMAIN)',
  CLOUDNS_AUTH_ID: 'ClouDNS API user id (or CLOUDNS_SUB_AUTH_ID)',
  CLOUDNS_SUB_AUTH_ID: 'ClouDNS API sub-user id (or CLOUDNS_AUTH_ID)',
  CLOUDNS_AUTH_PASSWORD: 'ClouDNS API password',
  CLOUDNS_ZONE: 'ClouDNS zone holding DOMAIN (default DOMAIN)',
  CLOUDFLARE_API_TOKEN: 'Cloudflare API token with Zone.DNS edit permission',
  CLOUDFLARE_ZONE: 'Cloudflare zone holding DOMAIN (default DOMAIN)',
  TLS: 'acme (default when DNS_PROVIDER is set: a wildcard certificate by DNS-01) or off',
  ACME_DIRECTORY_URL: "ACME directory URL (default Let's Encrypt production)",
  ACME_EMAIL: 'contact e-mail for the ACME account (required when TLS=acme)',
  ACME_CA_BUNDLE: "PEM file to trust for the ACME server's HTTPS (test CAs only)",
  SSH_USER:
    'user to log in as (default: ~/.ssh/config, else your login name); servers.txt user@host wins',
  SSH_KEY: 'private key file to log in with (default: ssh-agent and ~/.ssh/config)',
  SSH_KNOWN_HOSTS: 'known_hosts file for the servers (default .shoestring/known_hosts)',
  LAB_DNS: 'resolver for the cluster names (set by the lab; leave empty for real servers)',
  PRIVATE_NETWORK:
    'range of the private addresses WireGuard gives the servers (default 10.88.0.0/24)',
  WIREGUARD_PORT:
    "WireGuard's UDP port, open to the servers' public addresses only (default 51820)",
  FIREWALL: 'on (default): nftables lets the world reach only SSH, 80, 443; off: leave it to you',
  SSH_ALLOW_FROM: 'addresses or CIDRs allowed to reach SSH, comma-separated (default anywhere)',
  FIREWALL_RULES:
    'your own nftables rules for incoming traffic, separated by ";" (e.g. tcp dport 8080 accept)',
  FAIL2BAN: 'on (default): ban addresses that keep failing SSH logins; off: do not install it',
  FAIL2BAN_IGNORE: 'addresses or CIDRs fail2ban never bans, comma-separated (your office, a VPN)',
  LOCK_TTL:
    'seconds the operator lock outlives a run that died holding it (default 60; from 10 to 3600)',
  TIUP_MIRROR:
    "DATABASE=tidb only: the TiUP mirror TiDB is installed from: an offline mirror made by tiup mirror clone, served over http(s), or PingCAP's public one (default https://tiup-mirrors.pingcap.com)",
  TIDB_VERSION:
    'DATABASE=tidb only, and required then: the TiDB release to deploy, e.g. v7.5.1 (changing it later does not upgrade)',
};

/** Keys whose values are secrets: registered for redaction as soon as they are read. */
export const SECRET_KEYS = [
  'PDNS_API_KEY',
  'CLOUDNS_AUTH_PASSWORD',
  'CLOUDFLARE_API_TOKEN',
] as const;

const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';
const DOMAIN_RE =
  /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidDomain(domain: string): boolean {
  return DOMAIN_RE.test(domain);
}

export function loadConfigFile(file: string): Config {
  const path = resolve(file);
  const why = readableFileProblem(path);
  if (why !== undefined) {
    throw new ConfigError(`${file} ${why}`, [], {
      hint:
        why === 'not found'
          ? 'copy .env.example to .env and fill it in, or point --env at your file'
          : 'point --env at your settings file',
    });
  }
  return parseEnv(readFileSync(path, 'utf8'), file);
}

/** Parses and validates the text of a settings file; `file` names it in errors. */
export function parseEnv(text: string, file: string): Config {
  return validateEnv(parse(text), file, [
    ...malformedLines(text, file, (key) => key in ENV_KEYS),
    ...duplicateKeys(text, file),
  ]);
}

/**
 * Pure: validates parsed key/values. `file` names the source in errors; relative paths resolve
 * against its folder. `found` are problems already found in the text (duplicate keys), reported
 * with the rest.
 */
export function validateEnv(
  raw: Record<string, string>,
  file: string,
  found: readonly string[] = [],
): Config {
  const problems: string[] = [...found];
  const base = dirname(resolve(file));
  for (const key of SECRET_KEYS) {
    const v = raw[key];
    if (v) new Secret(v); // registers for redaction before anything can print it
  }
  const get = (key: string): string | undefined => {
    const v = raw[key]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const need = (key: string, why = ENV_KEYS[key] ?? ''): string => {
    const v = get(key);
    if (v === undefined) problems.push(`${key} is missing: ${why}`);
    return v ?? '';
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = get(key);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      problems.push(`${key}=${clip(v)} is not one of ${allowed.join(', ')}: ${ENV_KEYS[key]}`);
      return fallback;
    }
    return v as T;
  };
  const url = (key: string, value: string): void => {
    if (value === '') return;
    try {
      const u = new URL(value);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      problems.push(`${key}=${clip(value)} is not an http(s) URL: ${ENV_KEYS[key]}`);
    }
  };
  const path = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined) return undefined;
    const abs = v.startsWith('~/') ? resolve(homedir(), v.slice(2)) : resolve(base, v);
    const why = readableFileProblem(abs);
    if (why !== undefined)
      problems.push(`${key}=${clip(v)}: ${clip(abs)} ${why} (${ENV_KEYS[key]})`);
    return abs;
  };

  const domain = need('DOMAIN').toLowerCase().replace(/\.$/, '');
  if (domain !== '' && !isValidDomain(domain)) {
    problems.push(
      isIP(domain) !== 0
        ? `DOMAIN=${clip(domain)} is an IP address, not a domain name: write the domain the cluster serves (e.g. example.com); the servers' addresses go in servers.txt`
        : `DOMAIN=${clip(domain)} is not a valid domain name: write the domain the cluster serves, e.g. example.com (labels of letters, digits and -, not starting or ending with -, joined by dots)`,
    );
  }
  const zoneOf = (key: string): string => (get(key) ?? domain).toLowerCase().replace(/\.$/, '');

  const webServer = oneOf<WebServer>('WEB_SERVER', ['apache', 'nginx'], 'apache');
  const database = oneOf<Database>('DATABASE', ['none', 'galera', 'tidb'], 'none');
  const provider = oneOf<DnsProviderName>(
    'DNS_PROVIDER',
    ['none', 'powerdns', 'cloudns', 'cloudflare'],
    'none',
  );
  let dns: DnsConfig = { provider: 'none' };
  if (provider === 'powerdns') {
    const apiUrl = need('PDNS_API_URL');
    url('PDNS_API_URL', apiUrl);
    dns = {
      provider,
      apiUrl: apiUrl.replace(/\/$/, ''),
      apiKey: new Secret(need('PDNS_API_KEY')),
      zone: zoneOf('PDNS_ZONE'),
    };
  } else if (provider === 'cloudns') {
    const authId = get('CLOUDNS_AUTH_ID');
    const subAuthId = get('CLOUDNS_SUB_AUTH_ID');
    if (!authId && !subAuthId)
      problems.push(
        `CLOUDNS_AUTH_ID or CLOUDNS_SUB_AUTH_ID is missing: ${ENV_KEYS['CLOUDNS_AUTH_ID']}`,
      );
    if (authId && subAuthId)
      problems.push('set only one of CLOUDNS_AUTH_ID and CLOUDNS_SUB_AUTH_ID');
    dns = {
      provider,
      authId,
      subAuthId,
      password: new Secret(need('CLOUDNS_AUTH_PASSWORD')),
      zone: zoneOf('CLOUDNS_ZONE'),
    };
  } else if (provider === 'cloudflare') {
    dns = {
      provider,
      apiToken: new Secret(need('CLOUDFLARE_API_TOKEN')),
      zone: zoneOf('CLOUDFLARE_ZONE'),
    };
  }
  if (
    dns.provider !== 'none' &&
    domain !== '' &&
    dns.zone !== domain &&
    !domain.endsWith(`.${dns.zone}`)
  ) {
    problems.push(`DNS zone ${clip(dns.zone)} does not contain DOMAIN=${clip(domain)}`);
  }

  const ttlText = get('DNS_TTL') ?? '60';
  const dnsTtl = Number(ttlText);
  if (!/^\d+$/.test(ttlText) || dnsTtl < 30 || dnsTtl > 86400) {
    problems.push(`DNS_TTL=${clip(ttlText)} must be a whole number of seconds from 30 to 86400`);
  } else if (provider === 'cloudns') {
    const problem = cloudnsTtlProblem(dnsTtl);
    if (problem) problems.push(problem);
  }
  const drainText = get('DNS_DRAIN_SECONDS') ?? String(dnsTtl);
  const dnsDrainSeconds = Number(drainText);
  if (!/^\d+$/.test(drainText) || dnsDrainSeconds > 86400) {
    problems.push(
      `DNS_DRAIN_SECONDS=${clip(drainText)} must be a whole number of seconds from 0 to 86400`,
    );
  }

  const maxText = get('DNS_MAX_RECORDS') ?? String(DEFAULT_MAX_RECORDS);
  const dnsMaxRecords = Number(maxText);
  if (!/^\d+$/.test(maxText) || dnsMaxRecords < 1 || dnsMaxRecords > 500) {
    problems.push(
      `DNS_MAX_RECORDS=${clip(maxText)} must be a whole number from 1 to 500 (default ${DEFAULT_MAX_RECORDS})`,
    );
  }

  const tls = oneOf<'acme' | 'off'>('TLS', ['acme', 'off'], provider === 'none' ? 'off' : 'acme');
  let acme: AcmeConfig | undefined;
  if (tls === 'acme') {
    if (provider === 'none')
      problems.push('TLS=acme needs a DNS_PROVIDER for the DNS-01 challenge (or set TLS=off)');
    const directoryUrl = get('ACME_DIRECTORY_URL') ?? LETS_ENCRYPT;
    url('ACME_DIRECTORY_URL', directoryUrl);
    const email = need('ACME_EMAIL');
    if (email !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
      problems.push(`ACME_EMAIL=${clip(email)} is not an e-mail address`);
    acme = { directoryUrl, email, caBundle: path('ACME_CA_BUNDLE') };
  }

  const user = get('SSH_USER');
  if (user !== undefined && !/^[a-z_][a-z0-9_.-]{0,31}$/i.test(user))
    problems.push(`SSH_USER=${clip(user)} is not a valid user name`);
  const ssh: SshConfig = {
    user,
    key: path('SSH_KEY'),
    knownHosts: resolve(base, get('SSH_KNOWN_HOSTS') ?? '.shoestring/known_hosts'),
  };

  const labDns = get('LAB_DNS');
  if (labDns !== undefined && isIP(labDns) === 0)
    problems.push(`LAB_DNS=${clip(labDns)} is not an IP address`);

  const schedule = get('BACKUP_SCHEDULE') ?? 'daily';
  // systemd checks the expression itself on the servers; here only what would break the unit file.
  if (!/^[A-Za-z0-9 ,:*./~-]{1,80}$/.test(schedule))
    problems.push(
      `BACKUP_SCHEDULE=${clip(schedule)} is not a systemd calendar expression (e.g. daily, hourly, *-*-* 03:00)`,
    );
  const keepText = get('BACKUP_KEEP') ?? '7';
  const keep = Number(keepText);
  if (!/^\d+$/.test(keepText) || keep < 1 || keep > 1000)
    problems.push(`BACKUP_KEEP=${clip(keepText)} must be a whole number from 1 to 1000`);
  const backup: BackupConfig = { schedule, keep };

  const lockText = get('LOCK_TTL') ?? String(DEFAULT_TTL_SECONDS);
  const lockTtl = Number(lockText);
  if (!/^\d+$/.test(lockText) || lockTtl < 10 || lockTtl > 3600)
    problems.push(`LOCK_TTL=${clip(lockText)} must be a whole number of seconds from 10 to 3600`);

  const network = networkSettings(get, problems);
  const firewall = firewallSettings(get, oneOf, problems);
  const tidb = database === 'tidb' ? tidbSettings(get, problems) : undefined;

  for (const key of Object.keys(raw)) {
    if (!(key in ENV_KEYS))
      problems.push(`${clip(key)} is not a Shoestring setting (misspelt? see .env.example)`);
  }

  if (problems.length > 0) {
    throw new ConfigError(`${file} has ${problems.length} problem(s):`, problems, {
      hint: 'see .env.example for every key and what it is for',
    });
  }
  return Object.freeze({
    file,
    domain,
    webServer,
    database,
    dns,
    dnsTtl,
    dnsDrainSeconds,
    dnsMaxRecords,
    acme,
    ssh,
    labDns,
    network,
    firewall,
    backup,
    tidb,
    lockTtl,
  });
}
