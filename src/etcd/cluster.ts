/**
 * The cluster-wide side of etcd, run once before any host is provisioned: ask every server what
 * it holds (CA, data, member list) in one round trip each, plan the membership, make or reuse
 * the CA, and remove members that left servers.txt. Joins happen later, per host, in turn.
 */
import { ShoestringError } from '../errors.ts';
import type { ClusterContext, ClusterServer } from '../components/types.ts';
import { registerSecret } from '../redact.ts';
import { q } from '../ssh/quote.ts';
import { pMap, type Transport } from '../ssh/transport.ts';
import { planMembership, type MembershipPlan, type Observed } from './membership.ts';
import {
  CA_GENERATE_SCRIPT,
  CA_PROBE_SCRIPT,
  chooseCa,
  pemFromBase64,
  pemFromRange,
  type CaPair,
} from './pki.ts';
import { ETCD_QUERY_SCRIPT, parseEtcdAnswer, splitSections } from './remote.ts';
import { hexId } from './status.ts';

export const DATA_DIR = '/var/lib/etcd/shoestring';

export interface EtcdCluster {
  readonly plan: MembershipPlan;
  /** undefined only in a dry run before the first real run (the CA is made then). */
  readonly ca: CaPair | undefined;
  /** A server whose etcd answered with a leader (for `member add`). */
  readonly healthy: ClusterServer | undefined;
  readonly token: string;
}

const SCRIPT = [
  CA_PROBE_SCRIPT,
  `echo '@@initialized'`,
  `if [ -d ${DATA_DIR}/member ]; then echo yes; else echo no; fi`,
  ETCD_QUERY_SCRIPT,
].join('\n');

interface Report {
  readonly observed: Observed;
  readonly disk: CaPair | undefined;
  readonly etcd: CaPair | undefined;
}

function pair(cert: string | undefined, key: string | undefined): CaPair | undefined {
  if (!cert || !key) return undefined;
  registerSecret(key);
  return { cert, key };
}

/** Pure: one server's answer to SCRIPT. */
export function parseReport(s: { hostname: string; address: string }, output: string): Report {
  const sec = splitSections(output);
  // A proxy is not a member: what it reports is a voter's view, which that voter reports too.
  const { role, status, members } = parseEtcdAnswer(sec);
  const member = role === 'member';
  return {
    observed: {
      name: s.hostname,
      address: s.address,
      initialized: sec.get('initialized') === 'yes',
      members: member ? members : undefined,
      healthy: member && status !== undefined && status.leaderId !== '0',
    },
    disk: pair(pemFromBase64(sec.get('ca_crt')), pemFromBase64(sec.get('ca_key'))),
    etcd: pair(pemFromRange(sec.get('etcd_ca_crt')), pemFromRange(sec.get('etcd_ca_key'))),
  };
}

async function generateCa(t: Transport, on: ClusterServer): Promise<CaPair> {
  const res = await t.run(on.target, CA_GENERATE_SCRIPT, { what: 'Generate the etcd CA' });
  const sec = splitSections(res.stdout);
  const ca = pair(pemFromBase64(sec.get('ca_crt')), pemFromBase64(sec.get('ca_key')));
  if (!ca) throw new ShoestringError(`${on.server.spec}: generating the etcd CA printed no CA`);
  return ca;
}

async function removeMember(t: Transport, on: ClusterServer, id: string, name: string) {
  const script = `ETCDCTL_API=3 etcdctl --command-timeout=10s member remove ${q(hexId(id))}`;
  for (let attempt = 1; ; attempt++) {
    const res = await t.run(on.target, script, {
      what: `Remove etcd member ${name}`,
      allowFailure: true,
    });
    if (res.code === 0 || /not found/i.test(res.stderr)) return;
    if (attempt >= 5) {
      throw new ShoestringError(
        `${on.server.spec}: etcdctl member remove ${name} failed: ${res.stderr.trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 3000));
  }
}

export async function prepareEtcd(ctx: ClusterContext): Promise<EtcdCluster> {
  const t = ctx.transport;
  const reports = await pMap(ctx.servers, 20, async (s) => {
    const res = await t.run(s.target, SCRIPT, { what: 'etcd facts', timeoutMs: 60_000 });
    return parseReport(s, res.stdout);
  });
  const result = planMembership(
    ctx.servers.map((s) => ({ name: s.hostname, address: s.address })),
    reports.map((r) => r.observed),
    { startTogether: ctx.startTogether },
  );
  if (!result.ok) {
    throw new ShoestringError(`etcd: refusing to change the cluster: ${result.reason}`, {
      hint: 'nothing was changed',
    });
  }
  const plan = result.plan;
  let { ca } = chooseCa(reports);
  const first = ctx.servers[0];
  if (!ca && !ctx.dryRun && first) ca = await generateCa(t, first);

  const healthyIndex = reports.findIndex((r) => r.observed.healthy && r.observed.members);
  const healthy = healthyIndex >= 0 ? ctx.servers[healthyIndex] : undefined;
  if (!ctx.dryRun && healthy) {
    for (const m of plan.remove) await removeMember(t, healthy, m.id, m.name || m.id);
  }
  const token = `shoestring-${ctx.config.domain}`;
  return { plan, ca, healthy, token };
}
