/** The lab subnet: pure address arithmetic. The host is .1, server sN is .(10+N). */
import { ConfigError } from '../errors.ts';

export interface Subnet {
  cidr: string;
  prefixLength: number;
  /** First address as a 32-bit number. */
  base: number;
}

function toNumber(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseSubnet(cidr: string): Subnet {
  const [ip, len] = cidr.split('/');
  const n = ip === undefined ? undefined : toNumber(ip);
  const prefixLength = Number(len);
  if (
    n === undefined ||
    !Number.isInteger(prefixLength) ||
    prefixLength < 16 ||
    prefixLength > 26
  ) {
    throw new ConfigError(
      `--subnet ${cidr}: expected an IPv4 network like 172.30.0.0/24 (/16 to /26)`,
    );
  }
  const size = 2 ** (32 - prefixLength);
  if (n % size !== 0)
    throw new ConfigError(`--subnet ${cidr}: not a network address (host bits set)`);
  return { cidr, prefixLength, base: n };
}

export function hostAddress(s: Subnet): string {
  return toIp(s.base + 1);
}

export function maxServers(s: Subnet): number {
  return 2 ** (32 - s.prefixLength) - 12;
}

export function serverAddress(s: Subnet, index: number): string {
  if (index < 1 || index > maxServers(s)) {
    throw new ConfigError(`server ${index}: the subnet ${s.cidr} holds at most ${maxServers(s)}`);
  }
  return toIp(s.base + 10 + index);
}

export function contains(s: Subnet, ip: string): boolean {
  const n = toNumber(ip);
  return n !== undefined && n >= s.base && n < s.base + 2 ** (32 - s.prefixLength);
}

/** Do two networks (CIDR, or a single address) share any address? */
export function overlaps(a: Subnet, cidr: string): boolean {
  const [ip, len] = cidr.split('/');
  const n = ip === undefined ? undefined : toNumber(ip);
  if (n === undefined) return false;
  const l = len === undefined ? 32 : Number(len);
  const size = 2 ** (32 - l);
  const start = n - (n % size);
  const aEnd = a.base + 2 ** (32 - a.prefixLength);
  return start < aEnd && a.base < start + size;
}
