/**
 * etcd's start phases, by role: a new cluster's first start (bootstrap), a member kept running,
 * a proxy waiting for the cluster, or a join: `member add` on a healthy member (or on the server
 * starting a new cluster, once it is up), then the start with state `existing`, both while
 * holding the cluster-wide etcd turn (each change of membership costs a vote).
 */
import { DATA_DIR, type EtcdCluster } from '../etcd/cluster.ts';
import { joinInitialCluster, peerUrl } from '../etcd/membership.ts';
import {
  CA_IN_ETCD_CHECK,
  CA_IN_ETCD_PUT,
  ETCD_QUERY_SCRIPT,
  ETCDCTL,
  gatewayPost,
  parseEtcdAnswer,
} from '../etcd/remote.ts';
import { ShoestringError } from '../errors.ts';
import type { Phase } from '../plan/phase.ts';
import { textSections } from '../plan/sections.ts';
import { shell, type Step } from '../plan/steps/index.ts';
import { q } from '../ssh/quote.ts';
import { render } from '../templates.ts';
import { INITIAL_ENV } from './etcd-config.ts';
import { HEALTHY, settled, waitHealthy } from './etcd-health.ts';
import type { ClusterServer, HostContext } from './types.ts';

function writeInitialEnv(initialCluster: string, state: 'new' | 'existing', token: string) {
  const text = render('etcd/initial.env.hbs', { initialCluster, state, token });
  return `install -d -m 0755 /etc/shoestring\nprintf %s ${q(text)} > ${INITIAL_ENV}`;
}

function afterStart(): Step[] {
  return [
    shell.command('Wait for the etcd cluster', settled(HEALTHY), waitHealthy(180)),
    // Idempotent: written only when etcd's copy differs from the files.
    // (Probed before etcd runs on a first install: ask only a healthy member, or etcdctl waits.)
    shell.command(
      'Keep the cluster CA in etcd',
      settled(`${HEALTHY} && ${CA_IN_ETCD_CHECK}`),
      CA_IN_ETCD_PUT,
    ),
  ];
}

/** Shell on the member that adds `self`: wait until it is up, then `member add`, retried. */
function memberAddScript(self: ClusterServer): string {
  const add = `${ETCDCTL} --command-timeout=10s member add ${q(self.hostname)} --peer-urls=${q(peerUrl(self.private))}`;
  return [
    // A new cluster's first server: healthy, and the CA stored (a join before that would take
    // its quorum away while it writes).
    `(end=$((SECONDS + 180)); while ! { ${HEALTHY} && ${CA_IN_ETCD_CHECK}; }; do if [ "$SECONDS" -ge "$end" ]; then echo 'the etcd cluster did not start within 3 minutes' >&2; exit 1; fi; sleep 0.5; done)`,
    // "unhealthy cluster" right after another join: etcd wants every voting member connected
    // for 5 s before it accepts the next one (strict reconfig check). Retried each second.
    `(for try in $(seq 1 30); do if ${add} >/dev/null 2>"$SHOESTRING_TMP/add.err" || ${listed(self)}; then exit 0; fi; sleep 1; done; cat "$SHOESTRING_TMP/add.err" >&2; exit 1)`,
  ].join('\n');
}

/** Check (on a member): `self` is in the member list. */
function listed(self: ClusterServer): string {
  return `{ ${gatewayPost('/v3/cluster/member/list')}; } | grep -qF ${q(`"${peerUrl(self.private)}"`)}`;
}

function joinPhases(ctx: HostContext, cluster: EtcdCluster): Phase[] {
  const self = ctx.self;
  // The member to add this server on: a healthy one, or the one starting a new cluster.
  const on =
    cluster.healthy ??
    ctx.servers.find((s) => cluster.plan.roles.get(s.hostname)?.kind === 'bootstrap');
  if (!on) throw new ShoestringError('etcd: no healthy member to add this server to');
  return [
    {
      title: 'Add this server to etcd',
      on: on.target,
      turn: 'etcd',
      steps: [
        shell.command(
          `Add ${self.hostname} to the etcd cluster`,
          listed(self),
          memberAddScript(self),
        ),
      ],
    },
    {
      title: 'Join etcd',
      turn: 'etcd',
      query: { on: on.target, script: ETCD_QUERY_SCRIPT },
      steps: (answer) => {
        const members = parseEtcdAnswer(textSections(answer)).members ?? [];
        const initial = joinInitialCluster(members, { name: self.hostname, address: self.private });
        return [
          shell.command(
            'Join the etcd cluster',
            HEALTHY,
            [
              'systemctl stop etcd || true',
              `rm -rf ${DATA_DIR}`,
              writeInitialEnv(initial, 'existing', cluster.token),
              // Type=notify: returns once the member has joined.
              'systemctl start etcd',
            ].join('\n'),
          ),
          ...afterStart(),
        ];
      },
    },
  ];
}

export function startPhases(ctx: HostContext, cluster: EtcdCluster): Phase[] {
  const role = cluster.plan.roles.get(ctx.self.hostname);
  if (!role) throw new ShoestringError(`etcd: ${ctx.self.server.spec} has no planned role`);
  // The proxy was started by its configuration phase; wait until it reaches the cluster.
  if (role.kind === 'proxy') return [{ title: 'Start etcd', steps: afterStart() }];
  if (role.kind === 'bootstrap') {
    const initial = writeInitialEnv(cluster.plan.initialCluster, 'new', cluster.token);
    return [
      {
        title: 'Start etcd',
        steps: [
          // Idempotent: only before this member's first start (its data dir is empty).
          shell.command(
            'Bootstrap the etcd cluster',
            `[ -d ${DATA_DIR}/member ]`,
            `${initial}\nsystemctl start --no-block etcd`,
          ),
          ...afterStart(),
        ],
      },
    ];
  }
  if (role.kind === 'member') {
    return [
      {
        title: 'Start etcd',
        steps: [
          // --no-block: a member whose peers are all down waits for them (Type=notify).
          shell.command(
            'Start etcd',
            'systemctl is-active -q etcd',
            'systemctl start --no-block etcd',
          ),
          ...afterStart(),
        ],
      },
    ];
  }
  return joinPhases(ctx, cluster);
}
