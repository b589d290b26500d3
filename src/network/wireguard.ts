/**
 * The WireGuard mesh's configuration (pure): each server's file lists every other server as a
 * peer, reached at its public address, routing only that peer's private address to it.
 */
import { render } from '../templates.ts';
import { WG_CONF, WG_INTERFACE, WG_KEY } from './survey.ts';

export const WG_SYNC = '/usr/local/sbin/shoestring-wg-sync';
export const WG_SERVICE = `wg-quick@${WG_INTERFACE}`;
export const WG_DROP_IN = `/etc/systemd/system/wg-quick@${WG_INTERFACE}.service.d/shoestring.conf`;

export interface Peer {
  readonly name: string;
  readonly publicKey: string;
  /** Its public address (IPv4 or IPv6). */
  readonly address: string;
  readonly private: string;
}

export function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * A peer's block of the file (the template network/wg-peer.conf.hbs, without its last newline):
 * the same in every server's file, so made once per peer object and port, not once per server.
 */
const blocks = new WeakMap<Peer, { readonly port: number; readonly text: string }>();

export function peerBlock(p: Peer, port: number): string {
  const known = blocks.get(p);
  if (known && known.port === port) return known.text;
  const text = render('network/wg-peer.conf.hbs', {
    name: p.name,
    publicKey: p.publicKey,
    endpoint: endpoint(p.address, port),
    allowedIps: `${p.private}/32`,
  }).replace(/\n$/, '');
  blocks.set(p, { port, text });
  return text;
}

/** The values of network/wg0.conf.hbs, `peers` the peers' blocks as one text. */
export function wgConfData(o: {
  address: string;
  cidr: string;
  port: number;
  peers: string;
}): Record<string, unknown> {
  return {
    address: o.address,
    prefix: o.cidr.split('/')[1] ?? '32',
    port: o.port,
    keyFile: WG_KEY,
    peers: o.peers,
  };
}

export function renderWgConf(o: {
  address: string;
  cidr: string;
  port: number;
  peers: readonly Peer[];
}): string {
  return render(
    'network/wg0.conf.hbs',
    // Every other server's block, joined here into one text.
    wgConfData({ ...o, peers: o.peers.map((p) => peerBlock(p, o.port)).join('\n') }),
  );
}

export function renderWgSync(): string {
  return render('network/wg-sync.sh.hbs', {
    conf: WG_CONF,
    iface: WG_INTERFACE,
    keyFile: WG_KEY,
  });
}

export function renderWgDropIn(): string {
  return render('network/wg-quick.conf.hbs', { sync: WG_SYNC });
}

/** A line that is neither blank nor a comment (what sameConf compares). */
const HAS_SETTING = /^(?!#)[^\S\n]*\S/m;

/** Whether a text has such a line (then so has any text that starts with it). */
export function hasSetting(text: string): boolean {
  return HAS_SETTING.test(text);
}

/**
 * Files compared without blank lines (the survey's section reader drops them) and comments (a
 * peer's name comment is not the mesh: prepare calls a departing peer by what it is now).
 */
export function sameConf(a: string, b: string): boolean {
  if (a === b) return true;
  // No file on one side: the other is the same only when it holds no setting either.
  if (a === '' || b === '') return !hasSetting(a === '' ? b : a);
  const norm = (t: string) =>
    t
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .join('\n');
  return norm(a) === norm(b);
}
