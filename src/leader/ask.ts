/**
 * Asking an etcd member whether it leads: locally over its HTTP gateway, or on a server over
 * SSH (one round trip). Both end in the same pure parsers (etcd/status.ts).
 */
import { ETCD_CLIENT, ETCD_QUERY_SCRIPT, splitSections } from '../etcd/remote.ts';
import {
  leaderAddress,
  leaderVerdict,
  parseMembers,
  parseStatus,
  type LeaderVerdict,
} from '../etcd/status.ts';
import type { Target, Transport } from '../ssh/transport.ts';

export interface LeaderAnswer {
  readonly verdict: LeaderVerdict;
  /** The leader's address, when known. */
  readonly leader: string | undefined;
}

/** Pure: the output of ETCD_QUERY_SCRIPT → the answer. */
export function answerFromOutput(output: string): LeaderAnswer {
  const sec = splitSections(output);
  const verdict = leaderVerdict(parseStatus(sec.get('status') ?? ''));
  return { verdict, leader: leaderAddress(verdict, parseMembers(sec.get('members') ?? '')) };
}

async function post(path: string): Promise<string> {
  try {
    const res = await fetch(`${ETCD_CLIENT}${path}`, {
      method: 'POST',
      body: '{}',
      headers: { 'Content-Type': 'application/json' },
      signal: AbortSignal.timeout(3000),
    });
    return res.ok ? await res.text() : '';
  } catch {
    return '';
  }
}

/** On a server: ask the local member (127.0.0.1:2379). */
export async function askLocal(): Promise<LeaderAnswer> {
  const [status, members] = await Promise.all([
    post('/v3/maintenance/status'),
    post('/v3/cluster/member/list'),
  ]);
  return answerFromOutput(`@@status\n${status}\n@@members\n${members}\n`);
}

/** From the operator's machine: ask the member on `target` over SSH. */
export async function askRemote(t: Transport, target: Target): Promise<LeaderAnswer> {
  const res = await t.run(target, ETCD_QUERY_SCRIPT, { what: 'ask etcd', timeoutMs: 30_000 });
  return answerFromOutput(res.stdout);
}
