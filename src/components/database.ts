/**
 * The replicated database (DATABASE=galera): MariaDB with Galera 4 on the servers of
 * db-servers.txt (default: every server), replicating over the private network only; the Galera
 * arbitrator on a third server when there are two members; on every server a local proxy that
 * apps reach at 127.0.0.1:3306, a database and user per app that asks for one, and scheduled
 * backups on every member. `prepare` plans the cluster (new, running, or a recovery after every
 * member stopped) and carries out a recovery before any host; joins take the cluster-wide
 * `database` turn. Gate: Synced in a primary component (members), a member answering through
 * the proxy (every server).
 */
import { GALERA_CNF, GALERA_SURVEY } from '../database/galera-state.ts';
import { prepareGalera, type GaleraCluster } from '../database/recover.ts';
import { tidbGate, tidbPhases } from '../database/tidb-plan.ts';
import type { Phase } from '../plan/phase.ts';
import { apt, files, shell, systemd } from '../plan/steps/index.ts';
import { render } from '../templates.ts';
import { appDatabasesPhase, appSettingsSteps, APP_SETTINGS_DIR } from './database-apps.ts';
import { backupPhase, backupTeardownSteps } from './database-backup.ts';
import {
  CLUSTER_NAME,
  configPhase,
  dbcheckAbsent,
  galeraGate,
  installPhase,
  startPhases,
  type MemberRole,
} from './database-galera.ts';
import { EMPEROR_AFTER_PROXY, HAPROXY_CFG, proxyGate, proxyPhase } from './database-proxy.ts';
import { PORTS } from './ports.ts';
import type { Component, HostContext } from './types.ts';

type State = GaleraCluster | undefined;

function roleOf(ctx: HostContext, cluster: GaleraCluster): MemberRole {
  const me = ctx.self.hostname;
  const plan = cluster.plan;
  const target = (name: string | undefined) =>
    ctx.database.members.find((m) => m.hostname === name)?.private;
  if (plan.kind === 'new') {
    return plan.bootstrap === me
      ? { kind: 'bootstrap' }
      : { kind: 'join', via: target(plan.bootstrap) };
  }
  if (cluster.runningBefore.has(me)) return { kind: 'member' };
  const via = plan.kind === 'running' ? plan.primary.find((n) => n !== me) : undefined;
  return { kind: 'join', via: target(via) };
}

function arbitratorPhase(ctx: HostContext): Phase {
  return {
    title: 'Galera arbitrator',
    steps: [
      apt.packages(['galera-arbitrator-4']),
      files.file(
        '/etc/default/garb',
        render('database/garb.hbs', {
          // Space-separated, as Debian's garb script reads it.
          members: ctx.database.members.map((s) => `${s.private}:${PORTS.galeraGroup}`).join(' '),
          clusterName: CLUSTER_NAME,
          address: ctx.self.private,
          port: PORTS.galeraGroup,
        }),
        { notify: [{ service: 'garb', action: 'restart' }] },
      ),
      systemd.service('garb'),
    ],
  };
}

/** A server no longer in db-servers.txt: its member leaves the group cleanly (data kept). */
function leavePhase(): Phase {
  return {
    title: 'Leave the database cluster',
    turn: 'database',
    steps: [
      // Idempotent: done once this server has no Galera settings (never a member, or it left).
      shell.command(
        'Stop this database member (no longer in db-servers.txt)',
        `[ ! -f ${GALERA_CNF} ]`,
        ['systemctl disable --now mariadb', `rm -f ${GALERA_CNF}`].join('\n'),
      ),
      ...dbcheckAbsent(),
      ...backupTeardownSteps(),
    ],
  };
}

function phases(ctx: HostContext, cluster: State): Phase[] {
  if (ctx.config.database === 'tidb') {
    // Never run by the test suite: TiDB's binaries cannot be downloaded there (README).
    return [
      ...tidbPhases(ctx, ctx.database.members),
      proxyPhase(ctx),
      { title: "The apps' database settings", steps: appSettingsSteps(ctx.apps) },
    ];
  }
  if (ctx.config.database !== 'galera' || !cluster) return [];
  const member = ctx.database.members.includes(ctx.self);
  const out: Phase[] = [];
  if (member) {
    out.push(installPhase(), configPhase(ctx), ...startPhases(roleOf(ctx, cluster)));
    const dbs = appDatabasesPhase(ctx.apps);
    if (dbs) out.push(dbs);
    out.push(backupPhase(ctx));
  } else out.push(leavePhase());
  if (ctx.database.arbitrator === ctx.self) out.push(arbitratorPhase(ctx));
  out.push(proxyPhase(ctx));
  out.push({ title: "The apps' database settings", steps: appSettingsSteps(ctx.apps) });
  return out;
}

/** Expected group size at this host's gate: the members running before, plus this one. */
function sizeAtGate(ctx: HostContext, cluster: GaleraCluster): number {
  const plan = cluster.plan;
  if (plan.kind === 'new') {
    const together = ctx.database.members.filter((m) => ctx.startTogether.has(m.hostname));
    return Math.max(1, together.length);
  }
  const before = new Set(cluster.runningBefore);
  before.add(ctx.self.hostname);
  const arbiter = ctx.database.arbitrator ? 1 : 0;
  return Math.min(ctx.database.expectedSize, before.size + arbiter);
}

export const database: Component<State> = {
  name: 'database',
  description:
    'the replicated database (DATABASE=galera): MariaDB Galera members, a local proxy, app databases, backups',
  survey: GALERA_SURVEY,
  async prepare(ctx, io) {
    if (ctx.config.database !== 'galera') return undefined;
    return prepareGalera(ctx, io);
  },
  phases,
  gates: (ctx, cluster) => {
    if (ctx.config.database === 'tidb') {
      const first = ctx.database.members[0] === ctx.self;
      return [...(first ? [tidbGate(ctx, ctx.database.members)] : []), proxyGate(ctx)];
    }
    if (ctx.config.database !== 'galera' || !cluster) return [];
    const member = ctx.database.members.includes(ctx.self);
    return member ? [galeraGate(ctx, sizeAtGate(ctx, cluster)), proxyGate(ctx)] : [proxyGate(ctx)];
  },
  teardown: (ctx) =>
    ctx.config.database === 'none'
      ? []
      : [
          {
            title: 'Remove the database member',
            steps: [
              // A clean stop leaves the group (the others shrink it); the data stays in
              // /var/lib/mysql (and the backups in /var/backups) until the server is wiped.
              ...backupTeardownSteps(),
              shell.command(
                'Stop the database member',
                '! systemctl is-active -q mariadb && ! systemctl is-enabled -q mariadb',
                'systemctl disable --now mariadb',
              ),
              ...dbcheckAbsent(),
              shell.command(
                'Stop the Galera arbitrator',
                '! systemctl is-active -q garb',
                'systemctl disable --now garb',
              ),
              shell.command(
                'Stop the local database proxy',
                '! systemctl is-active -q haproxy',
                'systemctl disable --now haproxy',
              ),
              files.absent(HAPROXY_CFG),
              files.absent(EMPEROR_AFTER_PROXY),
              files.absent(APP_SETTINGS_DIR),
            ],
          },
        ],
};
