/**
 * What the firewall lets in, from the cluster and the settings (pure). The same plan on every
 * server: the SSH ports of all servers, the web from anywhere, WireGuard from the servers'
 * public addresses, everything on the private network from the servers' private addresses.
 */
import { isIP } from 'node:net';
import type { ClusterContext } from '../components/types.ts';
import { usesWireGuard } from '../components/network.ts';
import { WG_INTERFACE } from '../network/survey.ts';
import type { Allow, FirewallPlan, Sources } from './ruleset.ts';

export const WEB_PORTS = [80, 443] as const;

/** Addresses (or CIDRs) by family, each once, in their first order; host names are dropped. */
export function byFamily(addresses: readonly string[]): Sources {
  const unique = [...new Set(addresses)];
  const family = (a: string) => isIP(a.split('/')[0] ?? '');
  return { v4: unique.filter((a) => family(a) === 4), v6: unique.filter((a) => family(a) === 6) };
}

/** Prints the TCP ports sshd listens on (read-only; run in the preflight round trip). */
export const SSHD_PORTS_SURVEY = `ss -Hltnp 2>/dev/null | awk '/"sshd"/ { n = split($4, a, ":"); print a[n] }' | sort -un`;

/**
 * Each SSH port the servers are reached at (servers.txt's, else 22) and every port their sshd
 * listens on (a port set in ~/.ssh/config, or one forwarded by a NAT, stays open), ascending.
 */
export function sshPorts(ctx: ClusterContext): number[] {
  const listening = ctx.servers.flatMap((s) =>
    (s.surveys.get('firewall') ?? '')
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((p) => Number.isInteger(p) && p > 0 && p < 65536),
  );
  const ports = [...ctx.servers.map((s) => s.server.port ?? 22), ...listening];
  return [...new Set(ports)].sort((a, b) => a - b);
}

/**
 * The private network's interface: WireGuard's, unless servers.txt gives every server an
 * address on a private network they already share (its interface is not known then).
 */
export function privateInterface(ctx: ClusterContext): string | undefined {
  return usesWireGuard(ctx) ? WG_INTERFACE : undefined;
}

/** `extra`: more of the cluster's own traffic (say, a database's ports on the private network). */
export function firewallPlan(ctx: ClusterContext, extra: readonly Allow[] = []): FirewallPlan {
  const { firewall, network } = ctx.config;
  const iifname = privateInterface(ctx);
  const privates = byFamily(ctx.servers.map((s) => s.private));
  const cluster: Allow[] = [
    ...(iifname === undefined
      ? []
      : [
          {
            why: 'wireguard',
            ports: { proto: 'udp', numbers: [network.port] },
            from: byFamily(ctx.servers.map((s) => s.address)),
          } as const,
        ]),
    { why: 'private network', from: privates, ...(iifname ? { iifname } : {}) },
    ...extra,
  ];
  const ssh: Allow = {
    why: 'ssh',
    ports: { proto: 'tcp', numbers: sshPorts(ctx) },
    ...(firewall.sshFrom.length > 0 ? { from: byFamily(firewall.sshFrom) } : {}),
  };
  const web: Allow = { why: 'web', ports: { proto: 'tcp', numbers: [...WEB_PORTS] } };
  return { cluster, rules: [...firewall.rules], open: [ssh, web] };
}
