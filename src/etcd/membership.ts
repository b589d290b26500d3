/**
 * etcd membership planning (pure): from what each server reported (is its data directory
 * initialised, which members does its etcd list), decide per server whether it bootstraps a new
 * cluster, is already a member, or joins; which old members to remove; and refuse, explaining
 * why, any change that would lose quorum.
 */
import type { Member } from './status.ts';
import { urlHost } from './status.ts';

/** At most this many voting members; beyond, etcd's guidance is a local gateway or proxy. */
export const MAX_VOTERS = 5;

export interface DesiredMember {
  readonly name: string;
  readonly address: string;
}

export interface Observed {
  readonly name: string;
  readonly address: string;
  /** Its data directory holds a member (it started once). */
  readonly initialized: boolean;
  /** The member list its etcd answered with; undefined when it did not answer. */
  readonly members: readonly Member[] | undefined;
  /** Its etcd answered with a known leader. */
  readonly healthy: boolean;
}

export type Role =
  /** First start of a brand-new cluster: state new, this server alone in the initial cluster. */
  | { readonly kind: 'bootstrap' }
  /** Already a member; just keep it running. */
  | { readonly kind: 'member' }
  /** Not a member yet: `member add` on a healthy member, then start with state existing. */
  | { readonly kind: 'join'; readonly added: boolean };

export interface MembershipPlan {
  readonly roles: ReadonlyMap<string, Role>;
  /** Members to `member remove` (not in servers.txt any more), in order. */
  readonly remove: readonly Member[];
  /** The initial cluster for a bootstrap: name=url,… */
  readonly initialCluster: string;
  /** The member list used for joins (as one healthy server reported it). */
  readonly members: readonly Member[];
}

export type PlanResult =
  | { readonly ok: true; readonly plan: MembershipPlan }
  | { readonly ok: false; readonly reason: string };

export const PEER_PORT = 2380;

export function peerUrl(address: string): string {
  return `https://${address.includes(':') ? `[${address}]` : address}:${PEER_PORT}`;
}

/** Votes needed for a cluster of n members. */
export function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

export function initialClusterOf(members: readonly DesiredMember[]): string {
  return members.map((m) => `${m.name}=${peerUrl(m.address)}`).join(',');
}

function memberAddress(m: Member): string | undefined {
  const url = m.peerUrls[0];
  return url ? urlHost(url) : undefined;
}

export function planMembership(
  desired: readonly DesiredMember[],
  observed: readonly Observed[],
): PlanResult {
  if (desired.length > MAX_VOTERS) {
    return {
      ok: false,
      reason:
        `${desired.length} servers: etcd should have 3 or 5 voting members and the others reach it ` +
        `through a local gateway; that gateway mode is not implemented yet, so Shoestring ` +
        `provisions at most ${MAX_VOTERS} servers`,
    };
  }
  const roles = new Map<string, Role>();
  // The cluster's member list, as the first healthy server reports it.
  const reporter = observed.find((o) => o.healthy && o.members !== undefined);
  const anyInitialized = observed.some((o) => o.initialized);

  if (!reporter && !anyInitialized) {
    // A new cluster: the first server starts it alone, the others join one at a time. (A static
    // bootstrap of all would need every member started at once; rolling groups start them one
    // group after the other, and the first group would wait for a quorum forever.)
    const [first, ...rest] = desired;
    if (first) roles.set(first.name, { kind: 'bootstrap' });
    for (const d of rest) roles.set(d.name, { kind: 'join', added: false });
    return {
      ok: true,
      plan: {
        roles,
        remove: [],
        initialCluster: first ? initialClusterOf([first]) : '',
        members: [],
      },
    };
  }

  if (!reporter) {
    // Data exists but no member answers with a leader: members can be started, nobody can join.
    const strangers = observed.filter((o) => !o.initialized).map((o) => o.name);
    if (strangers.length > 0) {
      return {
        ok: false,
        reason:
          `the etcd cluster has no leader right now (no member answered with one), so ` +
          `${strangers.join(', ')} cannot join it; start the existing members first ` +
          `(provision only them, e.g. with a servers file without the new ones)`,
      };
    }
    for (const d of desired) roles.set(d.name, { kind: 'member' });
    return { ok: true, plan: { roles, remove: [], initialCluster: '', members: [] } };
  }

  const members = reporter.members ?? [];
  const desiredAddresses = new Set(desired.map((d) => d.address));
  const remove = members.filter((m) => {
    const a = memberAddress(m);
    return a === undefined || !desiredAddresses.has(a);
  });
  const keep = members.filter((m) => !remove.includes(m));
  if (keep.length === 0) {
    return {
      ok: false,
      reason:
        'none of the servers in the servers file is a member of the running etcd cluster; ' +
        'replacing every member at once would lose all its data: keep at least a majority of ' +
        'the old servers, add the new ones, provision, then remove the old ones',
    };
  }

  // Healthy = answered with a leader, and is one of the kept members.
  const healthyAddresses = new Set(observed.filter((o) => o.healthy).map((o) => o.address));
  let size = members.length;
  let healthy = keep.filter((m) => {
    const a = memberAddress(m);
    return a !== undefined && healthyAddresses.has(a) && m.name !== '';
  }).length;
  for (const m of remove) {
    if (healthy < quorum(size - 1)) {
      return {
        ok: false,
        reason:
          `removing etcd member ${m.name || m.id} would leave ${healthy} healthy of ` +
          `${size - 1} members, below the quorum of ${quorum(size - 1)}: bring the other ` +
          `members back (or remove fewer servers at once) first`,
      };
    }
    size -= 1;
  }

  for (const d of desired) {
    const own = observed.find((o) => o.name === d.name);
    const listed = keep.find((m) => memberAddress(m) === d.address);
    if (listed && listed.name !== '' && own?.initialized) roles.set(d.name, { kind: 'member' });
    else if (listed) roles.set(d.name, { kind: 'join', added: true });
    else roles.set(d.name, { kind: 'join', added: false });
  }
  // Each join makes the cluster one bigger before its member starts.
  for (const d of desired) {
    const role = roles.get(d.name);
    if (role?.kind !== 'join') continue;
    const nextSize = role.added ? size : size + 1;
    if (healthy < quorum(nextSize)) {
      return {
        ok: false,
        reason:
          `adding ${d.name} would make ${nextSize} members of which ${healthy} are healthy, ` +
          `below the quorum of ${quorum(nextSize)}: bring the existing members back first`,
      };
    }
    size = nextSize;
    healthy += 1;
  }
  return { ok: true, plan: { roles, remove, initialCluster: '', members: keep } };
}

/**
 * ETCD_INITIAL_CLUSTER for a joining member: every member (etcd checks the count and the peer
 * URLs; a member added but not started yet has no name), with this one named.
 */
export function joinInitialCluster(members: readonly Member[], self: DesiredMember): string {
  const others = members
    .filter((m) => memberAddress(m) !== self.address)
    .flatMap((m) => m.peerUrls.map((u) => `${m.name}=${u}`));
  return [...others, `${self.name}=${peerUrl(self.address)}`].join(',');
}
