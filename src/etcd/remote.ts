/**
 * Shell snippets that ask the local etcd client API on 127.0.0.1:2379: a member's own (its HTTP
 * gateway answers JSON), or on a server beyond the voting members, the local gRPC proxy (which
 * has no JSON gateway: etcdctl asks through it, and the member list comes from the voters
 * directly, since the proxy lists only itself). curl is installed by the base component. Each
 * snippet prints marker lines then one JSON document, parsed by `textSections`.
 */
import { section } from '../plan/sections.ts';
import { CA_CERT, PROXY_CERT, PROXY_KEY } from './pki.ts';
import {
  leaderVerdict,
  parseEtcdctlStatus,
  parseMembers,
  parseStatus,
  type EndpointStatus,
  type LeaderVerdict,
  type Member,
} from './status.ts';

export const ETCD_CLIENT = 'http://127.0.0.1:2379';

/** One gateway POST; prints nothing when etcd does not answer. */
export function gatewayPost(path: string, timeoutSeconds = 3): string {
  return `curl -fsS -m ${timeoutSeconds} -X POST -H 'Content-Type: application/json' -d '{}' ${ETCD_CLIENT}${path} 2>/dev/null || true`;
}

/** On a proxy server: which voters its proxy forwards to (ETCD_PROXY_ENDPOINTS=url,url). */
export const PROXY_ENV = '/etc/shoestring/etcd-proxy.env';

const ETCDCTL = 'ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=3s';

/**
 * Prints `@@role` (member or proxy), `@@status` (the status of the member that answered: this
 * server's own, or through the proxy a voter's) and `@@members` (the member list).
 */
export const ETCD_QUERY_SCRIPT = [
  `if [ -s ${PROXY_ENV} ]; then`,
  `  ${section('role')}; echo proxy`,
  `  ${section('status')}`,
  `  ${ETCDCTL} --endpoints=127.0.0.1:2379 endpoint status -w json 2>/dev/null || true`,
  `  echo`,
  `  ${section('members')}`,
  `  eps=$(sed -n 's/^ETCD_PROXY_ENDPOINTS=//p' ${PROXY_ENV})`,
  `  ${ETCDCTL} --endpoints="$eps" --cacert=${CA_CERT} --cert=${PROXY_CERT} --key=${PROXY_KEY} member list -w json 2>/dev/null || true`,
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
