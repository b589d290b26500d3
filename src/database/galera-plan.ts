/**
 * The Galera cluster's plan (pure): from what every member said, what happens to the cluster
 * as a whole before any host is provisioned.
 * - `new`: no member holds data anywhere: the first member bootstraps a new cluster, the others
 *   join it one at a time. The only case that makes a new cluster.
 * - `running`: a member is in a primary component: members that are not join it, in turn.
 * - `recover`: no primary component, but members hold data (every server stopped: power loss):
 *   the most advanced member (highest committed seqno) bootstraps from its data, the others
 *   rejoin. Done without asking only when that is unambiguous (every member's position known, one
 *   cluster); otherwise refused with the reason, and `--recover` picks the most advanced of the
 *   positions that are known.
 * - `positions`: some positions are still unknown: ask `--wsrep-recover` on these, then plan again.
 */
import { holdsData, type GaleraState, type Position } from './galera-state.ts';

export interface MemberReport {
  readonly name: string;
  readonly state: GaleraState;
  /** From `--wsrep-recover`, when it was asked. */
  readonly recovered?: Position | undefined;
}

export type GaleraPlan =
  | { readonly kind: 'new'; readonly bootstrap: string }
  | { readonly kind: 'running'; readonly primary: readonly string[] }
  | {
      readonly kind: 'recover';
      readonly from: string;
      readonly seqno: number;
      /** Running members waiting for a primary component: stopped first. */
      readonly stop: readonly string[];
      /** What provision says it does. */
      readonly why: string;
    }
  | { readonly kind: 'positions'; readonly ask: readonly string[] }
  | { readonly kind: 'refuse'; readonly reason: string; readonly hint: string };

/** A member's last committed position, if known without asking it anything more. */
export function knownPosition(m: MemberReport): Position | undefined {
  const s = m.state;
  // Running but waiting for a primary component: it still reports what it committed.
  if (s.status && s.status.uuid !== '' && s.status.lastCommitted >= 0)
    return { uuid: s.status.uuid, seqno: s.status.lastCommitted };
  if (s.grastate && s.grastate.seqno >= 0 && s.active !== 'active') return s.grastate;
  if (m.recovered && m.recovered.seqno >= 0) return m.recovered;
  return undefined;
}

export function planGalera(
  members: readonly MemberReport[],
  options: { readonly recover: boolean; readonly askedPositions: boolean },
): GaleraPlan {
  const primary = members.filter((m) => m.state.status?.clusterStatus === 'Primary');
  if (primary.length > 0) return { kind: 'running', primary: primary.map((m) => m.name) };
  const withData = members.filter((m) => holdsData(m.state));
  const first = members[0];
  if (withData.length === 0 && first) return { kind: 'new', bootstrap: first.name };

  const unknown = withData.filter((m) => knownPosition(m) === undefined);
  if (unknown.length > 0 && !options.askedPositions)
    return { kind: 'positions', ask: unknown.map((m) => m.name) };

  const known = withData
    .map((m) => ({ m, p: knownPosition(m) }))
    .filter((x): x is { m: MemberReport; p: Position } => x.p !== undefined);
  const stop = members
    .filter((m) => m.state.active === 'active' || m.state.active === 'activating')
    .map((m) => m.name);
  const uuids = [...new Set(known.map((x) => x.p.uuid))];
  const problems: string[] = [];
  if (unknown.length > 0)
    problems.push(
      `the last position of ${unknown.map((m) => m.name).join(', ')} could not be read (--wsrep-recover found none)`,
    );
  if (uuids.length > 1)
    problems.push(
      `the members hold data of ${uuids.length} different clusters (${uuids.join(', ')})`,
    );
  if (known.length === 0) problems.push('no member holds a readable position');
  const best = [...known].sort(
    (a, b) =>
      b.p.seqno - a.p.seqno ||
      Number(b.m.state.grastate?.safeToBootstrap ?? false) -
        Number(a.m.state.grastate?.safeToBootstrap ?? false),
  )[0];
  const ties = best ? known.filter((x) => x.p.seqno === best.p.seqno).map((x) => x.m.name) : [];
  const table = known.map((x) => `${x.m.name} seqno ${x.p.seqno}`).join(', ');
  if (problems.length > 0 && !options.recover) {
    return {
      kind: 'refuse',
      reason: `no member of the database cluster is running in a primary component, and which one is most advanced is not certain: ${problems.join('; ')}${table ? ` (known: ${table})` : ''}`,
      hint: best
        ? `./provision.ts --recover bootstraps from ${best.m.name} (seqno ${best.p.seqno}); the others then take its data (a member's writes beyond that seqno would be lost)`
        : 'restore a backup: scripts/backup.ts restore (see README, Backups)',
    };
  }
  if (!best) {
    return {
      kind: 'refuse',
      reason: `no member of the database cluster holds a readable position: ${problems.join('; ')}`,
      hint: 'restore a backup: scripts/backup.ts restore (see README, Backups)',
    };
  }
  const why =
    problems.length > 0
      ? `--recover: bootstrapping from ${best.m.name}, the most advanced known member (${table}); ${problems.join('; ')}`
      : `every member stopped; ${best.m.name} is the most advanced (${table}${ties.length > 1 ? `; ${ties.join(' and ')} are level` : ''}): bootstrapping from it, the others rejoin`;
  return { kind: 'recover', from: best.m.name, seqno: best.p.seqno, stop, why };
}
