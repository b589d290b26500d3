/**
 * Shell snippets that ask the local etcd client API on 127.0.0.1:2379: a member's own (its HTTP
 * gateway answers JSON), or on a server beyond the voting members, the local gRPC proxy (which
 * has no JSON gateway: etcdctl asks through it, and the member list comes from the voters
 * directly, since the proxy lists only itself). Both speak TLS only and require a client
 * certificate from the cluster CA: these snippets run as root and present root's. curl is
 * installed by the base component. Each snippet prints marker lines then one JSON document,
 * parsed by `textSections`.
 */
import { section } from '../plan/sections.ts';
import { q } from '../ssh/quote.ts';
import {
  CA_CERT,
  CA_KEY,
  CLIENT_CERT,
  CLIENT_KEY,
  CLIENT_TLS,
  ETCD_CA_CERT_KEY,
  ETCD_CA_KEY_KEY,
} from './pki.ts';
import {
  leaderVerdict,
  parseEtcdctlStatus,
  parseMembers,
  parseStatus,
  type EndpointStatus,
  type LeaderVerdict,
  type Member,
} from './status.ts';

/** This server's etcd client API (a member's, or its proxy's). */
export const ETCD_CLIENT = 'https://127.0.0.1:2379';
/**
 * This server's etcd metrics listener (a member's, or its proxy's): plain HTTP on loopback,
 * `/health` and `/metrics` only, for checks that hold no certificate (the /healthz vassal).
 */
export const ETCD_METRICS = 'http://127.0.0.1:2381';
export const ETCD_HEALTH_URL = `${ETCD_METRICS}/health`;

/** One POST to the local gateway as root; prints nothing when etcd does not answer. */
export function gatewayPost(
  path: string,
  body = '{}',
  timeoutSeconds = 3,
  tls: string = CLIENT_TLS,
): string {
  return `curl -fsS -m ${timeoutSeconds} ${tls} -X POST -H 'Content-Type: application/json' -d ${q(body)} ${ETCD_CLIENT}${path} 2>/dev/null || true`;
}

/**
 * Root's client certificate, and the CA to check the local etcd with, or, when the CA file is
 * gone (the case the CA probe exists for: etcd still holds the CA's copy), no check of the
 * server: it is this server's own etcd on loopback, and our certificate still authenticates us.
 */
const RECOVERY_TLS = `$([ -s ${CA_CERT} ] && echo --cacert ${CA_CERT} || echo --insecure) --cert ${CLIENT_CERT} --key ${CLIENT_KEY}`;

/**
 * etcdctl as root, asking `endpoints` (the local client API unless given) with root's client
 * certificate. Flags, not ETCDCTL_* variables: the /usr/local/bin/etcdctl wrapper sets only
 * those that no flag gives.
 */
export function etcdctl(endpoints: string = ETCD_CLIENT): string {
  return `ETCDCTL_API=3 etcdctl --endpoints=${endpoints} ${CLIENT_TLS}`;
}

export const ETCDCTL = etcdctl();

/** On a proxy server: which voters its proxy forwards to (ETCD_PROXY_ENDPOINTS=url,url). */
export const PROXY_ENV = '/etc/shoestring/etcd-proxy.env';

const ASK = '--dial-timeout=2s --command-timeout=3s';

/**
 * Prints `@@role` (member or proxy), `@@status` (the status of the member that answered: this
 * server's own, or through the proxy a voter's) and `@@members` (the member list).
 */
export const ETCD_QUERY_SCRIPT = [
  `if [ -s ${PROXY_ENV} ]; then`,
  `  ${section('role')}; echo proxy`,
  `  ${section('status')}`,
  `  ${ETCDCTL} ${ASK} endpoint status -w json 2>/dev/null || true`,
  `  echo`,
  `  ${section('members')}`,
  `  eps=$(sed -n 's/^ETCD_PROXY_ENDPOINTS=//p' ${PROXY_ENV})`,
  `  ${etcdctl('"$eps"')} ${ASK} member list -w json 2>/dev/null || true`,
  `  echo`,
  `else`,
  `  ${section('role')}; echo member`,
  `  ${section('status')}`,
  `  ${gatewayPost('/v3/maintenance/status')}`,
  `  echo`,
  `  ${section('members')}`,
  `  ${gatewayPost('/v3/cluster/member/list')}`,
  `  echo`,
  `fi`,
].join('\n');

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * Prints the copy of the CA in this server's etcd (if it answers). Read-only. (The CA's own
 * scripts are in pki.ts; these ask etcd, so they live here.)
 */
export const CA_IN_ETCD_PROBE = [ETCD_CA_CERT_KEY, ETCD_CA_KEY_KEY]
  .flatMap((key, i) => [
    section(i === 0 ? 'etcd_ca_crt' : 'etcd_ca_key'),
    gatewayPost('/v3/kv/range', JSON.stringify({ key: b64(key) }), 3, RECOVERY_TLS),
    'echo',
  ])
  .join('\n');

/** Check + command keeping the CA copy in etcd equal to the files. */
export const CA_IN_ETCD_CHECK = [ETCD_CA_CERT_KEY, ETCD_CA_KEY_KEY]
  .map(
    (k, i) =>
      `[ "$(${ETCDCTL} --dial-timeout=1s --command-timeout=3s get --print-value-only ${k})" = "$(base64 -w0 ${i === 0 ? CA_CERT : CA_KEY})" ]`,
  )
  .join(' && ');

export const CA_IN_ETCD_PUT = [
  `base64 -w0 ${CA_CERT} | ${ETCDCTL} --dial-timeout=2s --command-timeout=5s put ${ETCD_CA_CERT_KEY} >/dev/null`,
  `base64 -w0 ${CA_KEY} | ${ETCDCTL} --dial-timeout=2s --command-timeout=5s put ${ETCD_CA_KEY_KEY} >/dev/null`,
].join('\n');

export interface EtcdAnswer {
  /** member: this server votes; proxy: it reaches the cluster through its local proxy. */
  readonly role: 'member' | 'proxy';
  /** The status of the member that answered (for a proxy: a voter's); undefined if none. */
  readonly status: EndpointStatus | undefined;
  readonly members: Member[] | undefined;
}

/** Pure: the sections ETCD_QUERY_SCRIPT printed. */
export function parseEtcdAnswer(sections: ReadonlyMap<string, string>): EtcdAnswer {
  const role = sections.get('role') === 'proxy' ? 'proxy' : 'member';
  const statusText = sections.get('status') ?? '';
  return {
    role,
    status: role === 'proxy' ? parseEtcdctlStatus(statusText)[0] : parseStatus(statusText),
    members: parseMembers(sections.get('members') ?? ''),
  };
}

/**
 * Is this server the leader? A member answers for itself; a proxy server is never the leader
 * (the status it reports is a voter's), only a follower of the leader it knows.
 */
export function answerVerdict(a: EtcdAnswer): LeaderVerdict {
  if (a.role === 'proxy' && !a.status) {
    return {
      state: 'unknown',
      reason: 'the local etcd proxy did not answer (is any voting member reachable?)',
    };
  }
  const v = leaderVerdict(a.status);
  if (a.role === 'member' || v.state === 'unknown') return v;
  return { state: 'follower', memberId: '', leaderId: a.status?.leaderId ?? '0' };
}
