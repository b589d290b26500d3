/**
 * etcd membership planning (pure): from what each server reported (is its data directory
 * initialised, which members does its etcd list), decide per server whether it bootstraps a new
 * cluster, is already a member, joins, or (beyond the 5 voting members etcd advises) reaches the
 * cluster through a local proxy; which old members to remove; and refuse, explaining why, any
 * change that would lose quorum.
 */
import type { Member } from './status.ts';
import { urlHost } from './status.ts';

/**
 * At most this many voting members: every write waits for a majority, so more members make
 * writes slower without making the cluster meaningfully safer. The other servers run a local
 * etcd gRPC proxy instead (etcd's own advice for clusters of many clients).
 */
export const MAX_VOTERS = 5;

export interface DesiredMember {
  readonly name: string;
  /** Its private address: its peer and client URLs are there. */
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
  | { readonly kind: 'join'; readonly added: boolean }
  /** Not a voting member: a local gRPC proxy on 127.0.0.1:2379 forwards to the voters. */
  | { readonly kind: 'proxy' };

export interface MembershipPlan {
  readonly roles: ReadonlyMap<string, Role>;
  /** Members to `member remove` (not in servers.txt any more), in order. */
  readonly remove: readonly Member[];
  /** The initial cluster for a bootstrap: name=url,… */
  readonly initialCluster: string;
  /** The member list used for joins (as one healthy server reported it). */
  readonly members: readonly Member[];
  /** The voting members once the plan is carried out (what proxies forward to). */
  readonly voters: readonly DesiredMember[];
}

export type PlanResult =
  | { readonly ok: true; readonly plan: MembershipPlan }
  | { readonly ok: false; readonly reason: string };

export const PEER_PORT = 2380;
export const CLIENT_PORT = 2379;

const hostPart = (address: string) => (address.includes(':') ? `[${address}]` : address);

export function peerUrl(address: string): string {
  return `https://${hostPart(address)}:${PEER_PORT}`;
}

/** A member's client API on its private address (TLS, client certificates from the CA). */
export function clientUrl(address: string): string {
  return `https://${hostPart(address)}:${CLIENT_PORT}`;
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

/**
 * Which servers vote: every current member still listed (never demoted), then the others in
 * servers.txt order until there are as many as the servers, at most MAX_VOTERS.
 */
export function chooseVoters(
  desired: readonly DesiredMember[],
  memberAddresses: ReadonlySet<string>,
): DesiredMember[] {
  const want = Math.min(desired.length, MAX_VOTERS);
  const voters = desired.filter((d) => memberAddresses.has(d.address));
  for (const d of desired) {
    if (voters.length >= want) break;
    if (!voters.includes(d)) voters.push(d);
  }
  return desired.filter((d) => voters.includes(d));
}

export interface PlanOptions {
  /**
   * Servers provisioned at the same time in the first rolling group. When a new cluster's
   * voters are all among them, they start together from one static initial cluster; otherwise
   * the first starts alone and the others join one at a time.
   */
  readonly startTogether?: ReadonlySet<string>;
}

export function planMembership(
  desired: readonly DesiredMember[],
  observed: readonly Observed[],
  options: PlanOptions = {},
): PlanResult {
  const roles = new Map<string, Role>();
  // The cluster's member list, as the first healthy server reports it.
  const reporter = observed.find((o) => o.healthy && o.members !== undefined);
  const anyInitialized = observed.some((o) => o.initialized);

  if (!reporter && !anyInitialized) {
    const voters = chooseVoters(desired, new Set());
    const together = options.startTogether;
    const all = together !== undefined && voters.every((v) => together.has(v.name));
    // All voters start at once from the full list (the fastest bootstrap), or, when rolling
    // groups would start them one group after the other (the first group would wait for a
    // quorum forever), the first starts alone and the others join one at a time.
    const first = voters[0];
    for (const d of desired) {
      if (!voters.includes(d)) roles.set(d.name, { kind: 'proxy' });
      else if (all || d === first) roles.set(d.name, { kind: 'bootstrap' });
      else roles.set(d.name, { kind: 'join', added: false });
    }
    const initial = all ? voters : first ? [first] : [];
    return {
      ok: true,
      plan: { roles, remove: [], initialCluster: initialClusterOf(initial), members: [], voters },
    };
  }

  if (!reporter) {
    // Data exists but no member answers with a leader: members can be started, nobody can join.
    const initialized = observed.filter((o) => o.initialized).map((o) => o.address);
    const voters = chooseVoters(desired, new Set(initialized));
    const strangers = voters.filter((v) => !initialized.includes(v.address)).map((v) => v.name);
    if (strangers.length > 0) {
      return {
        ok: false,
        reason:
          `the etcd cluster has no leader right now (no member answered with one), so ` +
          `${strangers.join(', ')} cannot join it; start the existing members first ` +
          `(provision only them, e.g. with a servers file without the new ones)`,
      };
    }
    for (const d of desired)
      roles.set(d.name, voters.includes(d) ? { kind: 'member' } : { kind: 'proxy' });
    return { ok: true, plan: { roles, remove: [], initialCluster: '', members: [], voters } };
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

  const voters = chooseVoters(
    desired,
    new Set(keep.map(memberAddress).filter((a): a is string => a !== undefined)),
  );
  for (const d of desired) {
    const own = observed.find((o) => o.name === d.name);
    const listed = keep.find((m) => memberAddress(m) === d.address);
    if (!voters.includes(d)) roles.set(d.name, { kind: 'proxy' });
    else if (listed && listed.name !== '' && own?.initialized)
      roles.set(d.name, { kind: 'member' });
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
  return { ok: true, plan: { roles, remove, initialCluster: '', members: keep, voters } };
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
