/**
 * The cluster-wide side of Galera, before any host: read every member's state (from the
 * preflight survey), ask `--wsrep-recover` where a stopped member's position is unknown, plan,
 * and when the plan is a recovery, carry it out through the runner: stop the members waiting for
 * a primary component, bootstrap the most advanced one from its data, start the others one at a
 * time. A dry run asks and shows; it changes nothing.
 */
import type { ClusterContext, ClusterIO, ClusterServer } from '../components/types.ts';
import { ShoestringError } from '../errors.ts';
import { shell } from '../plan/steps/index.ts';
import { joinPhase, settledStart, SYNCED, waitSynced } from '../components/database-galera.ts';
import { planGalera, type GaleraPlan, type MemberReport } from './galera-plan.ts';
import {
  GRASTATE,
  parseGaleraState,
  parseRecoveredPosition,
  WSREP_STATUS,
} from './galera-state.ts';

/** Shell check: this member answers and is in a primary component (whatever its state). */
const IN_PRIMARY = `{ ${WSREP_STATUS}; } | grep -q '^wsrep_cluster_status[[:space:]]*Primary$'`;
const PRIMARY_NOW = 'shoestring:in-primary-component';

/** Shell (read-only in effect): the member's last position from its InnoDB log. */
const WSREP_RECOVER = [
  'log=$(mktemp)',
  'chown mysql "$log"',
  'timeout 120 mariadbd --user=mysql --wsrep-recover --log-error="$log" >/dev/null 2>&1 || true',
  'cat "$log"; rm -f "$log"',
].join('\n');

export interface GaleraCluster {
  readonly plan: GaleraPlan;
  /** Members running in a primary component when provision started (after a recovery: all). */
  readonly runningBefore: ReadonlySet<string>;
}

function reportsOf(ctx: ClusterContext, recovered = new Map<string, string>()): MemberReport[] {
  return ctx.database.members.map((s) => ({
    name: s.hostname,
    state: parseGaleraState(s.surveys.get('database') ?? ''),
    recovered: recovered.has(s.hostname)
      ? parseRecoveredPosition(recovered.get(s.hostname) ?? '')
      : undefined,
  }));
}

function byName(ctx: ClusterContext, name: string): ClusterServer {
  const s = ctx.database.members.find((m) => m.hostname === name);
  if (!s) throw new ShoestringError(`database: no member named ${name}`);
  return s;
}

export async function prepareGalera(ctx: ClusterContext, io: ClusterIO): Promise<GaleraCluster> {
  const dryRun = io.dryRun;
  let reports = reportsOf(ctx);
  let plan = planGalera(reports, { recover: ctx.recover, askedPositions: false });
  if (plan.kind === 'positions') {
    const answers = new Map<string, string>();
    for (const name of plan.ask) {
      const on = byName(ctx, name);
      // A member still starting (waiting for a primary component) holds the data directory:
      // its position is only readable once it stopped. Not in a dry run.
      // Never one in a primary component: the survey would have been misread.
      const stop = dryRun ? '' : 'systemctl stop mariadb 2>/dev/null || true\n';
      const answer = await io.query(
        on,
        `if ${IN_PRIMARY}; then echo ${PRIMARY_NOW}; exit 0; fi\n${stop}if ! systemctl is-active -q mariadb; then ${WSREP_RECOVER}; fi`,
        `ask ${name} for its last database position (--wsrep-recover)`,
      );
      if (answer.includes(PRIMARY_NOW))
        throw new ShoestringError(
          `database: ${name} is in a primary component after all (it was not when provision started): nothing was stopped`,
          { hint: 'run ./provision.ts again' },
        );
      answers.set(name, answer);
    }
    reports = reportsOf(ctx, answers);
    plan = planGalera(reports, { recover: ctx.recover, askedPositions: true });
  }
  if (plan.kind === 'refuse') {
    throw new ShoestringError(`database: refusing to start the cluster: ${plan.reason}`, {
      hint: plan.hint,
    });
  }
  const running = new Set(
    reports.filter((r) => r.state.status?.clusterStatus === 'Primary').map((r) => r.name),
  );
  if (plan.kind !== 'recover') return { plan, runningBefore: running };

  for (const name of plan.stop) {
    await io.apply(byName(ctx, name), {
      title: `Stop the database member waiting for a primary component (${plan.why})`,
      steps: [
        // Idempotent: done when stopped.
        shell.command(
          'Stop the waiting database member',
          '! systemctl is-active -q mariadb',
          `if ${IN_PRIMARY}; then echo 'this member is in a primary component: not stopping it' >&2; exit 1; fi\nsystemctl stop mariadb`,
        ),
      ],
    });
  }
  const from = byName(ctx, plan.from);
  await io.apply(from, {
    title: `Recover the database cluster: ${plan.why}`,
    turn: 'database',
    steps: [
      // Idempotent: done once it is Synced in a primary component.
      shell.command(
        `Bootstrap the database cluster from ${plan.from}'s data (seqno ${plan.seqno})`,
        SYNCED,
        [
          `sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' ${GRASTATE}`,
          settledStart('galera_new_cluster'),
          waitSynced(120, 'the recovered member did not become Synced'),
        ].join('\n'),
      ),
    ],
  });
  for (const s of ctx.database.members.filter((m) => m.hostname !== plan.from)) {
    // A state transfer from the recovered member, as any join.
    await io.apply(s, { ...joinPhase(undefined), title: 'Rejoin the recovered database cluster' });
  }
  return {
    plan,
    runningBefore: new Set(ctx.database.members.map((m) => m.hostname)),
  };
}
