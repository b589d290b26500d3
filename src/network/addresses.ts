/**
 * Private addresses (pure). With WireGuard, every server keeps the address it already has on
 * the mesh (so adding or removing a server never renumbers the others); a new server gets the
 * lowest free address of the range, in servers.txt order. Servers on a private network of their
 * own carry their address in servers.txt.
 */
import { ConfigError } from '../errors.ts';
import { ipv4ToNumber, numberToIpv4 } from '../config/network-settings.ts';

export interface AddressRequest {
  /** The server's name in messages (its servers.txt entry). */
  readonly name: string;
  /** The address its WireGuard configuration has now, if any. */
  readonly current: string | undefined;
}

/** The usable host addresses of an IPv4 CIDR (network and broadcast addresses excluded). */
export function hostRange(cidr: string): { first: number; last: number } {
  const [base = '', bitsText = '32'] = cidr.split('/');
  const bits = Number(bitsText);
  const start = ipv4ToNumber(base);
  const size = 2 ** (32 - bits);
  return { first: start + 1, last: start + size - 2 };
}

export function inRange(address: string | undefined, cidr: string): boolean {
  if (address === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) return false;
  const n = ipv4ToNumber(address);
  const { first, last } = hostRange(cidr);
  return n >= first && n <= last;
}

/** One address per request, same order. Throws when the range is too small. */
export function assignAddresses(requests: readonly AddressRequest[], cidr: string): string[] {
  const taken = new Set<number>();
  const out: (string | undefined)[] = requests.map((r) => {
    if (!inRange(r.current, cidr)) return undefined;
    const n = ipv4ToNumber(r.current ?? '');
    if (taken.has(n)) return undefined; // a clone of another server's configuration
    taken.add(n);
    return r.current;
  });
  const { first, last } = hostRange(cidr);
  let next = first;
  return out.map((address, i) => {
    if (address !== undefined) return address;
    while (taken.has(next)) next++;
    if (next > last) {
      throw new ConfigError(
        `PRIVATE_NETWORK=${cidr} has no free address left for ${requests[i]?.name ?? 'a server'}`,
        [],
        { hint: 'choose a larger range (e.g. a /16) in PRIVATE_NETWORK' },
      );
    }
    taken.add(next);
    return numberToIpv4(next);
  });
}

/** servers.txt gives every server a private address (a network they already share). */
export function ownPrivateNetwork(
  servers: readonly { readonly private?: string | undefined }[],
): boolean {
  return servers.length > 0 && servers.every((s) => s.private !== undefined);
}

/**
 * The private address of every server, in servers.txt order: servers.txt's own, else the one
 * its WireGuard configuration has, else the lowest free one of PRIVATE_NETWORK.
 */
export function privateAddresses(
  servers: readonly { readonly spec: string; readonly private?: string | undefined }[],
  current: readonly (string | undefined)[],
  cidr: string,
): string[] {
  if (ownPrivateNetwork(servers)) return servers.map((s) => s.private ?? '');
  return assignAddresses(
    servers.map((s, i) => ({ name: s.spec, current: current[i] })),
    cidr,
  );
}
