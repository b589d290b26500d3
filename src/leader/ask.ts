/**
 * Asking a server whether its etcd member leads: on the server itself, or on a server over SSH
 * (one round trip). Both run the same script (etcd/remote.ts) and end in the same pure parsers.
 * A server beyond the voting members runs an etcd proxy: it is never the leader, and it still
 * knows who is.
 */
import { textSections } from '../plan/sections.ts';
import { $ } from 'zx';
import { answerVerdict, ETCD_QUERY_SCRIPT, parseEtcdAnswer } from '../etcd/remote.ts';
import { leaderAddress, type LeaderVerdict } from '../etcd/status.ts';
import type { Target, Transport } from '../ssh/transport.ts';

export interface LeaderAnswer {
  readonly verdict: LeaderVerdict;
  /** The leader's address, when known. */
  readonly leader: string | undefined;
  /** The server is not a voting member: it reaches etcd through its local proxy. */
  readonly proxy: boolean;
}

/** Pure: the output of ETCD_QUERY_SCRIPT → the answer. */
export function answerFromOutput(output: string): LeaderAnswer {
  const a = parseEtcdAnswer(textSections(output));
  const verdict = answerVerdict(a);
  return { verdict, leader: leaderAddress(verdict, a.members), proxy: a.role === 'proxy' };
}

/** On a server: ask its own etcd (member or proxy) with the same script. */
export async function askLocal(): Promise<LeaderAnswer> {
  const res = await $({ input: ETCD_QUERY_SCRIPT, nothrow: true, quiet: true })`bash -s`;
  return answerFromOutput(res.stdout);
}

/** From the operator's machine: ask the server `target` over SSH. */
export async function askRemote(t: Transport, target: Target): Promise<LeaderAnswer> {
  const res = await t.run(target, ETCD_QUERY_SCRIPT, { what: 'ask etcd', timeoutMs: 30_000 });
  return answerFromOutput(res.stdout);
}
