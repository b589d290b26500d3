/**
 * What each server says about its private network, in the preflight round trip (read-only): its
 * WireGuard public key (the private key never leaves it), its configuration as it is now (no
 * secret in it: the private key is a file of its own), and whether its kernel has WireGuard.
 */
import { section, sectionBlocks } from '../plan/sections.ts';

export const WG_DIR = '/etc/wireguard';
export const WG_INTERFACE = 'wg0';
export const WG_CONF = `${WG_DIR}/${WG_INTERFACE}.conf`;
export const WG_KEY = `${WG_DIR}/private.key`;

export const NETWORK_SURVEY = [
  section('wg_public'),
  `if [ -s ${WG_KEY} ] && command -v wg >/dev/null; then wg pubkey < ${WG_KEY} || true; fi`,
  section('wg_conf'),
  `cat ${WG_CONF} 2>/dev/null || true`,
  section('wg_kernel'),
  // A kernel with WireGuard built in or as a module; otherwise wireguard-go (e.g. containers).
  `if [ -d /sys/module/wireguard ] || modprobe -n wireguard 2>/dev/null; then echo yes; else echo no; fi`,
  section('wg_handshakes'),
  `wg show ${WG_INTERFACE} latest-handshakes 2>/dev/null || true`,
].join('\n');

export interface NetworkSurvey {
  readonly publicKey: string | undefined;
  /** The configuration file as it is, '' when absent. */
  readonly conf: string;
  /** The address in it ([Interface] Address), if any. */
  readonly address: string | undefined;
  readonly kernel: boolean;
  /** Peer public key → seconds since the epoch of its last handshake (0: never). */
  readonly handshakes: ReadonlyMap<string, number>;
}

const WG_KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function isWireGuardKey(text: string): boolean {
  return WG_KEY_RE.test(text);
}

/** Pure: the sections NETWORK_SURVEY printed. */
export function parseNetworkSurvey(output: string): NetworkSurvey {
  // Blocks, not lines: the configuration lists every other server, and stays as it came.
  const s = sectionBlocks(output);
  const lines = (name: string) => (s.get(name) ?? '').split('\n').slice(0, -1);
  const key = lines('wg_public').join('').trim();
  const conf = s.get('wg_conf') ?? '';
  const address = /^Address\s*=\s*([0-9.]+)/m.exec(conf)?.[1];
  const handshakes = new Map<string, number>();
  for (const line of lines('wg_handshakes')) {
    const [peer, when] = line.trim().split(/\s+/);
    if (peer && when && /^\d+$/.test(when)) handshakes.set(peer, Number(when));
  }
  return {
    publicKey: isWireGuardKey(key) ? key : undefined,
    conf,
    address,
    kernel: lines('wg_kernel').join('').trim() === 'yes',
    handshakes,
  };
}

export interface ConfiguredPeer {
  readonly publicKey: string;
  readonly endpoint: string | undefined;
  readonly allowedIps: string;
}

const PEER_KEYS = ['PublicKey', 'Endpoint', 'AllowedIPs'] as const;
/** A setting's value in a peer's block (made once: a mesh of hundreds has as many blocks). */
const PEER_SETTING = new Map(
  PEER_KEYS.map((k) => [k, new RegExp(`^${k}\\s*=\\s*(.+?)\\s*$`, 'm')] as const),
);

/** Pure: the peers a WireGuard configuration file lists. */
export function configuredPeers(conf: string): ConfiguredPeer[] {
  return conf
    .split(/^\[Peer\]\s*$/m)
    .slice(1)
    .flatMap((block) => {
      const get = (k: (typeof PEER_KEYS)[number]) => PEER_SETTING.get(k)?.exec(block)?.[1];
      const publicKey = get('PublicKey');
      const allowedIps = get('AllowedIPs');
      if (!publicKey || !allowedIps) return [];
      return [{ publicKey, endpoint: get('Endpoint'), allowedIps }];
    });
}

/** Each server's answers parsed once (preflight and the network's prepare both ask). */
const parsed = new WeakMap<ReadonlyMap<string, string>, NetworkSurvey>();

/** A server's network survey from its preflight answers. */
export function surveyOf(s: { readonly surveys: ReadonlyMap<string, string> }): NetworkSurvey {
  let survey = parsed.get(s.surveys);
  if (survey === undefined) {
    survey = parseNetworkSurvey(s.surveys.get('network') ?? '');
    parsed.set(s.surveys, survey);
  }
  return survey;
}
