/**
 * The cluster-wide side of etcd, run once before any host is provisioned: ask every server what
 * it holds (CA, data, member list) in one round trip each, plan the membership, make or reuse the
 * CA, and remove members that left servers.txt (while holding the etcd turn). Joins happen later,
 * per host, in turn. Every effect goes through the runner (ClusterIO).
 */
import type { ClusterContext, ClusterIO, ClusterServer } from '../components/types.ts';
import { ShoestringError } from '../errors.ts';
import { section, textSections } from '../plan/sections.ts';
import { shell } from '../plan/steps/index.ts';
import { registerSecret } from '../redact.ts';
import { q } from '../ssh/quote.ts';
import { planMembership, type MembershipPlan, type Observed } from './membership.ts';
import {
  CA_CERT,
  CA_GENERATE_SCRIPT,
  CA_KEY,
  CA_PROBE_SCRIPT,
  chooseCa,
  pemFromBase64,
  pemFromRange,
  type CaPair,
} from './pki.ts';
import {
  CA_IN_ETCD_PROBE,
  ETCD_QUERY_SCRIPT,
  ETCDCTL,
  gatewayPost,
  parseEtcdAnswer,
} from './remote.ts';
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

/** What prepare needs of each server, asked in the preflight round trip. */
export const ETCD_SURVEY = [
  CA_PROBE_SCRIPT,
  CA_IN_ETCD_PROBE,
  section('initialized'),
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

/** Pure: one server's answer to ETCD_SURVEY (`address`: its private one, where peers are). */
export function parseReport(s: { hostname: string; address: string }, output: string): Report {
  const sec = textSections(output);
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

/** Makes the CA on `on` (unless it has one) and reads it back; undefined in a dry run. */
async function makeCa(io: ClusterIO, on: ClusterServer): Promise<CaPair | undefined> {
  await io.apply(on, {
    title: 'Make the etcd cluster CA',
    steps: [
      shell.command(
        'Generate the etcd cluster CA',
        `[ -s ${CA_CERT} ] && [ -s ${CA_KEY} ]`,
        CA_GENERATE_SCRIPT,
      ),
    ],
  });
  const sec = textSections(await io.query(on, CA_PROBE_SCRIPT, 'read the etcd CA'));
  return pair(pemFromBase64(sec.get('ca_crt')), pemFromBase64(sec.get('ca_key')));
}

/** Check: the member `id` is no longer in the member list `on` answers with. */
function memberGone(id: string): string {
  return `! { ${gatewayPost('/v3/cluster/member/list')}; } | grep -q ${q(`"ID":"${id}"`)}`;
}

export async function prepareEtcd(ctx: ClusterContext, io: ClusterIO): Promise<EtcdCluster> {
  // Members are known by their peer URLs, on the private addresses.
  const reports = ctx.servers.map((s) =>
    parseReport({ hostname: s.hostname, address: s.private }, s.surveys.get('etcd') ?? ''),
  );
  const result = planMembership(
    ctx.servers.map((s) => ({ name: s.hostname, address: s.private })),
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
  if (!ca && first) ca = await makeCa(io, first);

  const healthyIndex = reports.findIndex((r) => r.observed.healthy && r.observed.members);
  const healthy = healthyIndex >= 0 ? ctx.servers[healthyIndex] : undefined;
  if (healthy && plan.remove.length > 0) {
    await io.apply(healthy, {
      title: 'Remove etcd members no longer in the servers file',
      turn: 'etcd',
      steps: plan.remove.map((m) =>
        shell.command(
          `Remove etcd member ${m.name || m.id}`,
          memberGone(m.id),
          // etcd refuses a removal for a few seconds after another membership change: retry.
          `(for try in 1 2 3 4 5; do if ${ETCDCTL} --command-timeout=10s member remove ${q(hexId(m.id))} 2>"$SHOESTRING_TMP/err" || grep -qi 'not found' "$SHOESTRING_TMP/err"; then exit 0; fi; sleep 3; done; cat "$SHOESTRING_TMP/err" >&2; exit 1)`,
        ),
      ),
    });
  }
  return { plan, ca, healthy, token: `shoestring-${ctx.config.domain}` };
}
