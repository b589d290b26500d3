/**
 * The .env keys of the private network and the firewall, validated (pure). Problems are pushed
 * to the caller's list, naming the key, so every mistake in the file is reported at once.
 */
import { isIP } from 'node:net';
import type { FirewallConfig, NetworkConfig } from './env.ts';
import { clip } from './clip.ts';

type Get = (key: string) => string | undefined;
type OneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T) => T;

export const DEFAULT_PRIVATE_NETWORK = '10.88.0.0/24';
export const DEFAULT_WIREGUARD_PORT = 51820;

/** An IPv4 CIDR `a.b.c.d/n` (n from 8 to 30) whose host bits are zero; else why not. */
export function cidrProblem(text: string): string | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(text);
  if (!m || isIP(m[1] ?? '') !== 4) return 'is not an IPv4 range like 10.88.0.0/24';
  const bits = Number(m[2]);
  if (bits < 8 || bits > 30) return 'must be a /8 to /30 range';
  const n = ipv4ToNumber(m[1] ?? '');
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  if ((n & mask) >>> 0 !== n)
    return `has host bits set (the range is ${numberToIpv4((n & mask) >>> 0)}/${bits})`;
  return undefined;
}

export function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** An address or CIDR (IPv4 or IPv6); else why not. */
export function sourceProblem(text: string): string | undefined {
  const [addr, bits, extra] = text.split('/');
  if (extra !== undefined || addr === undefined) return 'is not an address or CIDR';
  const family = isIP(addr);
  if (family === 0) return 'is not an address or CIDR';
  if (bits === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(bits) || Number(bits) > max) return `has a bad prefix length (0-${max})`;
  return undefined;
}

function list(get: Get, key: string, problems: string[]): string[] {
  const items = (get(key) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    const why = sourceProblem(item);
    if (why) problems.push(`${key}: "${clip(item)}" ${why}`);
  }
  return items;
}

export function networkSettings(get: Get, problems: string[]): NetworkConfig {
  const cidr = get('PRIVATE_NETWORK') ?? DEFAULT_PRIVATE_NETWORK;
  const why = cidrProblem(cidr);
  if (why) problems.push(`PRIVATE_NETWORK=${clip(cidr)} ${why}`);
  const portText = get('WIREGUARD_PORT') ?? String(DEFAULT_WIREGUARD_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535)
    problems.push(`WIREGUARD_PORT=${clip(portText)} must be a UDP port (1-65535)`);
  return { cidr, port };
}

export function firewallSettings(get: Get, oneOf: OneOf, problems: string[]): FirewallConfig {
  const enabled = oneOf('FIREWALL', ['on', 'off'], 'on') === 'on';
  const fail2ban = oneOf('FAIL2BAN', ['on', 'off'], 'on') === 'on';
  const rules = (get('FIREWALL_RULES') ?? '')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const r of rules) {
    if (/[{}\n\\#]/.test(r) || !/^[A-Za-z0-9 .,:/_"@-]+$/.test(r))
      problems.push(
        `FIREWALL_RULES: "${clip(r)}" is not one plain nftables rule (no braces, comments or backslashes)`,
      );
  }
  return {
    enabled,
    sshFrom: list(get, 'SSH_ALLOW_FROM', problems),
    rules,
    fail2ban,
    fail2banIgnore: list(get, 'FAIL2BAN_IGNORE', problems),
  };
}
