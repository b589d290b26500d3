/**
 * What one server says about its Galera member, asked in the preflight round trip (read-only):
 * installed, configured by Shoestring, the service's state, grastate.dat (the last committed
 * position a stopped member recorded) and, while it runs, its wsrep status. `parseGaleraState`
 * is pure.
 */
import { section, textSections } from '../plan/sections.ts';

export const GALERA_CNF = '/etc/mysql/mariadb.conf.d/60-shoestring-galera.cnf';
export const GRASTATE = '/var/lib/mysql/grastate.dat';
/** A cluster state UUID of zeros: a member that never belonged to a cluster. */
export const NO_UUID = '00000000-0000-0000-0000-000000000000';

const STATUS_VARS = [
  'wsrep_cluster_status',
  'wsrep_local_state_comment',
  'wsrep_cluster_size',
  'wsrep_cluster_state_uuid',
  'wsrep_last_committed',
  'wsrep_ready',
];

/** Shell: this member's wsrep status as `name value` lines (nothing when it does not answer). */
export const WSREP_STATUS = `timeout 5 mariadb -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS_VARS.map((v) => `'${v}'`).join(',')})" 2>/dev/null || true`;

export const GALERA_SURVEY = [
  section('galera_installed'),
  'if [ -x /usr/sbin/mariadbd ]; then echo yes; else echo no; fi',
  section('galera_configured'),
  `if [ -f ${GALERA_CNF} ]; then echo yes; else echo no; fi`,
  section('galera_active'),
  'systemctl is-active mariadb 2>/dev/null || true',
  section('galera_grastate'),
  // No newline at its end: the next marker must start a line of its own.
  `cat ${GRASTATE} 2>/dev/null || true; echo`,
  section('galera_status'),
  `if systemctl is-active -q mariadb 2>/dev/null; then ${WSREP_STATUS}; fi`,
].join('\n');

export interface Position {
  readonly uuid: string;
  /** -1: unknown (the member was running or crashed; ask `--wsrep-recover`). */
  readonly seqno: number;
}

export interface GaleraState {
  readonly installed: boolean;
  readonly configured: boolean;
  /** systemctl is-active: active, activating, failed, inactive... */
  readonly active: string;
  readonly grastate: (Position & { readonly safeToBootstrap: boolean }) | undefined;
  /** wsrep status while it runs and answers. */
  readonly status: WsrepStatus | undefined;
}

export interface WsrepStatus {
  /** Primary, non-Primary, Disconnected. */
  readonly clusterStatus: string;
  /** Synced, Donor/Desynced, Joining, Joined, Initialized... */
  readonly state: string;
  readonly size: number;
  readonly uuid: string;
  readonly lastCommitted: number;
  readonly ready: boolean;
}

/** Pure: `name value` lines of SHOW STATUS into a WsrepStatus (undefined when empty). */
export function parseWsrepStatus(text: string): WsrepStatus | undefined {
  const v = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [name, ...rest] = line.trim().split(/\s+/);
    if (name) v.set(name, rest.join(' '));
  }
  if (!v.has('wsrep_cluster_status')) return undefined;
  return {
    clusterStatus: v.get('wsrep_cluster_status') ?? '',
    state: v.get('wsrep_local_state_comment') ?? '',
    size: Number(v.get('wsrep_cluster_size') ?? 0),
    uuid: v.get('wsrep_cluster_state_uuid') ?? '',
    lastCommitted: Number(v.get('wsrep_last_committed') ?? -1),
    ready: v.get('wsrep_ready') === 'ON',
  };
}

/** Pure: grastate.dat's text (undefined when absent). */
export function parseGrastate(
  text: string,
): (Position & { readonly safeToBootstrap: boolean }) | undefined {
  const get = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(text)?.[1];
  const uuid = get('uuid');
  if (uuid === undefined) return undefined;
  const seqno = Number(get('seqno') ?? -1);
  return {
    uuid,
    seqno: Number.isInteger(seqno) ? seqno : -1,
    safeToBootstrap: get('safe_to_bootstrap') === '1',
  };
}

export function parseGaleraState(output: string): GaleraState {
  const sec = textSections(output);
  return {
    installed: sec.get('galera_installed') === 'yes',
    configured: sec.get('galera_configured') === 'yes',
    active: sec.get('galera_active') || 'unknown',
    grastate: parseGrastate(sec.get('galera_grastate') ?? ''),
    status: parseWsrepStatus(sec.get('galera_status') ?? ''),
  };
}

/** Holds data of a cluster: it belonged to one (grastate names a cluster). */
export function holdsData(s: GaleraState): boolean {
  return (
    (s.grastate !== undefined && s.grastate.uuid !== NO_UUID) ||
    (s.status !== undefined && s.status.uuid !== '' && s.status.uuid !== NO_UUID)
  );
}

/** `--wsrep-recover`'s answer: "WSREP: Recovered position: uuid:seqno" (last one wins). */
export function parseRecoveredPosition(log: string): Position | undefined {
  const all = [...log.matchAll(/Recovered position:?\s+([0-9a-f-]{36}):(-?\d+)/g)];
  const m = all.at(-1);
  if (!m) return undefined;
  return { uuid: m[1] ?? '', seqno: Number(m[2]) };
}
