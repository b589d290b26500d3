/**
 * Whether this server's app instances can do their work: with a database, the local database
 * proxy (HAProxy at 127.0.0.1:3306) must have a member it can send them to. A server cut off
 * from every member (its own one left the primary component, the others out of reach) is
 * reachable again the moment its network heals, seconds before its proxy sees a member up:
 * requests routed to its instances in between would fail. While it is not ready, the mesh
 * watch keeps its instances out of every fastrouter (see mesh.ts).
 *
 * Read from HAProxy's admin socket (`show stat`); no socket (no database): ready.
 */
import { connect } from 'node:net';

export const HAPROXY_SOCKET = '/run/haproxy/admin.sock';
export const PROXY_NAME = 'database';

export interface Readiness {
  readonly ready: boolean;
  /** Why not, in words. */
  readonly why?: string;
}

/** Pure: HAProxy's `show stat` CSV → this server's readiness. */
export function readinessFromStat(csv: string, proxy = PROXY_NAME): Readiness {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').replace(/^#\s*/, '').split(',');
  const px = header.indexOf('pxname');
  const sv = header.indexOf('svname');
  const st = header.indexOf('status');
  if (px < 0 || sv < 0 || st < 0) return { ready: true };
  const servers = lines
    .slice(1)
    .map((l) => l.split(','))
    .filter((f) => f[px] === proxy && f[sv] !== 'FRONTEND' && f[sv] !== 'BACKEND');
  if (servers.length === 0) return { ready: true };
  const up = servers.filter((f) => (f[st] ?? '').startsWith('UP'));
  return up.length > 0
    ? { ready: true }
    : { ready: false, why: `the database proxy has no member up (${servers.length} down)` };
}

function showStat(socket: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const s = connect(socket, () => s.write('show stat\n'));
    s.setTimeout(1000, () => s.destroy());
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('close', () => resolve(text));
    s.on('error', () => resolve(undefined));
  });
}

/** This server's readiness now (ready when there is no database proxy to ask). */
export async function localReadiness(socket = HAPROXY_SOCKET): Promise<Readiness> {
  const stat = await showStat(socket);
  return stat === undefined ? { ready: true } : readinessFromStat(stat);
}
