/**
 * The private network's cell of the status table (pure): this server's private address and how
 * long ago WireGuard last heard from each peer. WireGuard shakes hands again every two minutes
 * while there is traffic (and the peers keep it alive every 25 s), so an older handshake means
 * that peer is not reachable over the mesh.
 */
import { section } from '../plan/sections.ts';
import { WG_CONF, WG_INTERFACE } from '../network/survey.ts';
import type { Cell } from './probe.ts';

export const NETWORK_STATUS_SCRIPT = [
  section('network'),
  `if [ -s ${WG_CONF} ]; then`,
  `  echo "wg $(sed -n 's/^Address *= *\\([0-9.]*\\).*/\\1/p' ${WG_CONF}) $(date +%s)"`,
  `  wg show ${WG_INTERFACE} latest-handshakes 2>/dev/null || echo down`,
  `fi`,
].join('\n');

/** A handshake older than this (seconds) is a peer WireGuard cannot reach. */
export const STALE_HANDSHAKE = 180;

/** `ownPrivate`: servers.txt's private address, when the servers use a network of their own. */
export function networkCell(text: string, ownPrivate: string | undefined): Cell {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const head = /^wg (\S*) (\d+)$/.exec(lines[0] ?? '');
  if (!head) {
    return ownPrivate
      ? { text: `${ownPrivate} (own network)`, health: 'ok' }
      : { text: 'no private network', health: 'bad' };
  }
  const [, address = '', nowText = '0'] = head;
  if (lines[1] === 'down') return { text: `${address}, wg0 down`, health: 'bad' };
  const now = Number(nowText);
  const ages = lines.slice(1).map((l) => {
    const when = Number(l.split(/\s+/)[1] ?? '0');
    return when > 0 ? Math.max(0, now - when) : Infinity;
  });
  if (ages.length === 0) return { text: `${address}, no peers`, health: 'warn' };
  const oldest = Math.max(...ages);
  const never = ages.filter((a) => a === Infinity).length;
  const stale = ages.filter((a) => a > STALE_HANDSHAKE).length;
  const peers = `${ages.length} peer${ages.length === 1 ? '' : 's'}`;
  if (never > 0) return { text: `${address}, ${peers}, ${never} never seen`, health: 'bad' };
  return {
    text: `${address}, ${peers}, handshake ≤${oldest}s ago`,
    health: stale > 0 ? 'warn' : 'ok',
  };
}
