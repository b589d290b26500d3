/**
 * status.ts's probe: one read-only script per server (one SSH round trip) printing marked
 * sections, and a pure parser turning them into one row of the status table.
 */
import { BACKUP_DIR } from '../components/database-backup.ts';
import { GALERA_CNF } from '../database/galera-state.ts';
import { section, textSections } from '../plan/sections.ts';
import { NETWORK_STATUS_SCRIPT, networkCell } from './network.ts';
import { PORTS } from '../components/ports.ts';
import { PROXY_SERVICE } from '../components/etcd-proxy.ts';
import { answerVerdict, ETCD_QUERY_SCRIPT, parseEtcdAnswer } from '../etcd/remote.ts';

export const STATUS_SCRIPT = [
  `${section('hostname')}; hostname`,
  ETCD_QUERY_SCRIPT,
  `${section('services')}`,
  `for u in etcd ${PROXY_SERVICE} apache2 nginx uwsgi-emperor mariadb; do echo "$u $(systemctl is-active "$u" 2>/dev/null || true)"; done`,
  `${section('healthz')}`,
  `curl -s -o /dev/null -m 3 -w '%{http_code}' http://127.0.0.1/healthz 2>/dev/null || true; echo`,
  `${section('fastrouter')}`,
  `timeout 2 bash -c 'cat < /dev/tcp/127.0.0.1/${PORTS.fastrouterStats}' 2>/dev/null || true; echo`,
  `${section('emperor')}`,
  `timeout 2 bash -c 'cat < /dev/tcp/127.0.0.1/${PORTS.emperorStats}' 2>/dev/null || true; echo`,
  NETWORK_STATUS_SCRIPT,
  `${section('db')}`,
  `if command -v mariadb >/dev/null && systemctl is-active -q mariadb; then mariadb -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment','wsrep_cluster_size','wsrep_cluster_status')" 2>/dev/null || echo error; elif [ -f ${GALERA_CNF} ]; then echo stopped; fi`,
  `${section('backup')}`,
  `if [ -f ${GALERA_CNF} ]; then newest=$(ls -1t ${BACKUP_DIR}/db-*.sql.gz 2>/dev/null | head -n 1 || true); echo "$(date +%s) $([ -n "$newest" ] && stat -c %Y "$newest" || echo none)"; fi`,
].join('\n');

export type Health = 'ok' | 'warn' | 'bad';

export interface Cell {
  readonly text: string;
  readonly health: Health;
}

export interface StatusRow {
  readonly server: string;
  readonly hostname: string;
  readonly ssh: Cell;
  /** Its private address and how recently WireGuard heard from its peers. */
  readonly network: Cell;
  readonly etcd: Cell;
  readonly web: Cell;
  readonly fastrouter: Cell;
  readonly vassals: Cell;
  /** undefined when no database runs there. */
  readonly db: Cell | undefined;
  readonly leader: boolean;
}

/** "last backup 3 h ago" from `now newest-mtime` (or `now none`); undefined without a member. */
export function backupText(line: string): string | undefined {
  const [now, newest] = line.trim().split(/\s+/);
  if (!now) return undefined;
  if (newest === 'none' || newest === undefined) return 'no backup yet';
  const age = Math.max(0, Number(now) - Number(newest));
  const ago =
    age < 120
      ? `${age} s`
      : age < 7200
        ? `${Math.round(age / 60)} min`
        : age < 172800
          ? `${Math.round(age / 3600)} h`
          : `${Math.round(age / 86400)} d`;
  return `last backup ${ago} ago`;
}

function json(text: string | undefined): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text ?? '') as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const arr = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object') : [];

/** A row for a server SSH could not reach. */
export function unreachableRow(server: string, why: string): StatusRow {
  const dash: Cell = { text: '-', health: 'bad' };
  return {
    server,
    hostname: '',
    ssh: { text: why, health: 'bad' },
    network: dash,
    etcd: dash,
    web: dash,
    fastrouter: dash,
    vassals: dash,
    db: undefined,
    leader: false,
  };
}

export function parseStatusOutput(server: string, output: string, ownPrivate?: string): StatusRow {
  const sec = textSections(output);
  const services = new Map(
    (sec.get('services') ?? '')
      .split('\n')
      .map((l) => l.trim().split(' '))
      .filter((p): p is [string, string] => p.length === 2),
  );
  const active = (u: string) => services.get(u) === 'active';

  const answer = parseEtcdAnswer(sec);
  const members = answer.members;
  const count = members ? ` (${members.length} members)` : '';
  const v = answerVerdict(answer);
  let etcd: Cell;
  if (answer.role === 'proxy') {
    // Not a voting member: healthy when its proxy reaches a cluster that has a leader.
    if (!active(PROXY_SERVICE)) etcd = { text: 'proxy down', health: 'bad' };
    else if (v.state === 'unknown') etcd = { text: `proxy, ${v.reason}`, health: 'bad' };
    else etcd = { text: `proxy${count}`, health: 'ok' };
  } else {
    etcd =
      v.state === 'unknown'
        ? { text: active('etcd') ? `up, ${v.reason}` : 'down', health: 'bad' }
        : { text: `${v.state}${count}`, health: 'ok' };
  }

  const front = active('apache2') ? 'apache' : active('nginx') ? 'nginx' : undefined;
  const code = (sec.get('healthz') ?? '').trim();
  const web: Cell = !front
    ? { text: 'down', health: 'bad' }
    : { text: `${front}, /healthz ${code || '-'}`, health: code === '200' ? 'ok' : 'bad' };

  const fr = json(sec.get('fastrouter'));
  let fastrouter: Cell;
  if (!fr) fastrouter = { text: 'down', health: 'bad' };
  else {
    const subs = arr(fr['subscriptions']);
    const parts = subs.map((s) => {
      const nodes = arr(s['nodes']);
      const alive = nodes.filter((n) => !n['death_mark']).length;
      return { key: String(s['key'] ?? '?'), alive, total: nodes.length };
    });
    const nodes = parts.reduce((a, p) => a + p.alive, 0);
    fastrouter = {
      text: `${parts.length} keys, ${nodes} nodes`,
      health: parts.length > 0 && parts.every((p) => p.alive > 0) ? 'ok' : 'warn',
    };
  }

  const em = json(sec.get('emperor'));
  let vassals: Cell;
  if (!em)
    vassals = { text: active('uwsgi-emperor') ? 'emperor up, no stats' : 'down', health: 'bad' };
  else {
    const list = arr(em['vassals']);
    const ready = list.filter((x) => Number(x['pid'] ?? 0) > 0 && !x['cursed']);
    vassals = {
      text: `${ready.length}/${list.length} running`,
      health: list.length > 0 && ready.length === list.length ? 'ok' : 'bad',
    };
  }

  const dbText = (sec.get('db') ?? '').trim();
  let db: Cell | undefined;
  if (dbText === 'error') db = { text: 'error', health: 'bad' };
  else if (dbText === 'stopped') db = { text: 'stopped', health: 'bad' };
  else if (dbText !== '') {
    const kv = new Map(
      dbText
        .split('\n')
        .map((l) => l.split('\t'))
        .filter((p): p is [string, string] => p.length === 2),
    );
    const state = kv.get('wsrep_local_state_comment') ?? '?';
    db = {
      text: `${state}, ${kv.get('wsrep_cluster_size') ?? '?'} in cluster`,
      health: state === 'Synced' && kv.get('wsrep_cluster_status') === 'Primary' ? 'ok' : 'bad',
    };
  }
  const backup = backupText(sec.get('backup') ?? '');
  if (db && backup) db = { ...db, text: `${db.text}, ${backup}` };

  return {
    server,
    hostname: (sec.get('hostname') ?? '').trim(),
    ssh: { text: 'ok', health: 'ok' },
    network: networkCell(sec.get('network') ?? '', ownPrivate),
    etcd,
    web,
    fastrouter,
    vassals,
    db,
    leader: v.state === 'leader',
  };
}
