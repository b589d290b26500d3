#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: what a silent cut of one etcd member does to the cluster when it heals. Needs the
 * lab up with 3 servers provisioned. Each round cuts a member that is not the leader
 * (`lab partition`) for 25 s, heals it, and measures: the leader elections the cluster saw
 * from the cut until 30 s after the heal (etcd_server_leader_changes_seen_total on the two
 * members that stayed, the largest increase), the cut member's raft term against the leader's
 * at the heal, and the seconds from the heal until the cut member follows a leader again
 * (etcd_server_has_leader 1). Without pre-vote an isolated member campaigns with ever higher
 * terms and, once back, forces a new election on the others.
 * Run: node --import tsx bench/etcd-heal.ts [--rounds N]
 */
import { parseArgs } from 'node:util';
import { ETCD_METRICS } from '../src/etcd/remote.ts';
import { currentLab } from '../test/lab/chaos.ts';
import { labAsync, on } from '../test/lab/helpers.ts';
import { sleep } from '../test/lab/stack-checks.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const lab = currentLab();

/** A metric of the member on `address` (its metrics listener, loopback). */
async function metric(address: string, name: string): Promise<number> {
  const r = await on(address, `curl -s -m 2 ${ETCD_METRICS}/metrics | grep '^${name} '`);
  return Number(r.out.trim().split(/\s+/)[1]);
}

interface Member {
  readonly address: string;
  readonly name: string;
  readonly leader: boolean;
  readonly term: number;
}

/** Each lab server's own member, as it sees itself (its local endpoint). */
async function members(): Promise<Member[]> {
  return Promise.all(
    lab.addresses.map(async (address) => {
      const r = await on(address, 'etcdctl endpoint status -w json');
      const [m] = JSON.parse(r.out) as {
        Status: { header: { member_id: number; raft_term: number }; leader: number };
      }[];
      if (!m) throw new Error(`${address}: no status`);
      return {
        address,
        name: lab.names.get(address) ?? address,
        leader: String(m.Status.header.member_id) === String(m.Status.leader),
        term: m.Status.header.raft_term,
      };
    }),
  );
}

for (let i = 0; i < Number(values.rounds); i++) {
  const followers = (await members()).filter((m) => !m.leader);
  const victim = followers[i % followers.length];
  if (!victim) throw new Error('no follower found');
  const others = lab.addresses.filter((a) => a !== victim.address);
  const before = await Promise.all(
    others.map((a) => metric(a, 'etcd_server_leader_changes_seen_total')),
  );
  await labAsync('partition', victim.name);
  await sleep(25_000);
  await labAsync('heal', victim.name);
  const healed = performance.now();
  let following = Number.NaN;
  while (performance.now() - healed < 60_000) {
    if ((await metric(victim.address, 'etcd_server_has_leader')) === 1) {
      following = (performance.now() - healed) / 1000;
      break;
    }
    await sleep(250);
  }
  await sleep(Math.max(0, 30_000 - (performance.now() - healed)));
  const after = await Promise.all(
    others.map((a) => metric(a, 'etcd_server_leader_changes_seen_total')),
  );
  const elections = Math.max(...after.map((v, k) => v - (before[k] ?? 0)));
  const terms = await members();
  const line = `round ${i + 1} (${victim.name}): elections ${elections}, follows a leader ${following.toFixed(1)} s after the heal, terms now ${terms.map((m) => m.term).join('/')}`;
  console.log(line);
  await sleep(10_000);
}
