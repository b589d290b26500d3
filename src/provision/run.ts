/**
 * The provision pipeline: inputs → preflight → components' cluster-wide preparation → every host
 * planned in parallel (one probe round trip each) → rolling groups of the hosts that have work
 * (per group: provision hosts in parallel → health gates) → summary. Hosts with nothing to change
 * are not rolled. Stops at the first failing group (later groups are left untouched), and after
 * the running phases on Ctrl-C.
 */
import { agentBundle } from '../agent/bundle.ts';
import type { Component, ClusterContext, ClusterIO, HostContext } from '../components/types.ts';
import { ConfigError, ShoestringError } from '../errors.ts';
import type { HostSummary, Reporter } from '../plan/events.ts';
import { hasWork } from '../plan/probe.ts';
import { groupsOf } from '../plan/rolling.ts';
import { hostSummary } from '../plan/report.ts';
import { Runner, type Planned } from '../plan/runner.ts';
import { NEVER_STOP, type StopSignal } from '../plan/turns.ts';
import { pMap } from '../util/pmap.ts';
import { makeTransport, type Inputs } from './context.ts';
import { NO_LOCK, startOperatorLock, type PendingLock } from './lock.ts';
import type { Transport } from '../ssh/transport.ts';
import { databaseLayout } from '../database/layout.ts';
import { ProvisionDns } from './dns.ts';
import { preflight } from './preflight.ts';
import { reportCertificate } from './tls.ts';
import { unsupportedSettings } from './unsupported.ts';

export interface ProvisionOptions {
  readonly dryRun: boolean;
  readonly parallel: number;
  /** Fraction of the fleet per group; undefined = 0.5 when the cluster serves, else all at once. */
  readonly percent: number | undefined;
  readonly components: readonly Component[];
  readonly stop?: StopSignal;
  /** --break-lock: take the operator lock even from another live holder. */
  readonly breakLock?: boolean;
  /** --recover: bring the database back even when which member is most advanced is not certain. */
  readonly recover?: boolean;
}

export interface ProvisionResult {
  readonly hosts: HostSummary[];
  readonly ok: boolean;
  /** Stopped by Ctrl-C before the end. */
  readonly interrupted: boolean;
}

interface HostWork {
  readonly ctx: HostContext;
  readonly planned: Planned[];
  readonly states: ReadonlyMap<Component, unknown>;
  /** Nothing to change, but drained by a run before that it failed: its gates run again. */
  readonly recheck?: boolean;
}

export async function provision(
  inputs: Inputs,
  options: ProvisionOptions,
  reporter: Reporter,
): Promise<ProvisionResult> {
  const started = Date.now();
  const unsupported = unsupportedSettings(inputs.config, inputs.apps);
  if (unsupported.refuse.length > 0) {
    throw new ConfigError(
      `${inputs.config.file}: not available in this version:`,
      unsupported.refuse,
    );
  }
  for (const w of unsupported.warn) reporter.event({ type: 'warn', host: 'settings', message: w });
  // Bad input is refused before any server is asked (the members are checked again once known).
  const everyServer = !inputs.dbServersListed;
  const membersFile = everyServer ? inputs.serversFile : inputs.dbServersFile;
  databaseLayout(
    inputs.config.database,
    inputs.servers,
    inputs.dbServers,
    (s) => s.spec,
    membersFile,
    everyServer,
  );
  // The agent is built (esbuild, a few tenths of a second) while preflight asks the servers;
  // its prepare awaits the same build (a failure is reported there).
  if (options.components.some((c) => c.name === 'agent')) void agentBundle().catch(() => undefined);
  const transport = makeTransport(inputs.config);
  const surveys = options.components.flatMap((c) =>
    c.survey ? [{ name: c.name, script: c.survey }] : [],
  );
  const cluster = await preflight(transport, inputs, options.parallel, reporter, surveys);
  const serving = cluster.some((s) => s.facts.provisioned);
  const fraction = options.percent ?? (serving ? 0.5 : 1);
  const first = groupsOf(cluster, cluster.length, fraction)[0] ?? [];
  const ctx: ClusterContext = {
    config: inputs.config,
    servers: cluster,
    apps: inputs.apps,
    // Hosts worked on at the same time first: all of the first group when --parallel allows.
    startTogether: new Set(first.length <= options.parallel ? first.map((s) => s.hostname) : []),
    database: databaseLayout(
      inputs.config.database,
      cluster,
      cluster.filter((s) => inputs.dbServers.includes(s.server)),
      (s) => s.server.spec,
      membersFile,
      everyServer,
    ),
    recover: options.recover === true,
  };
  const lock = options.dryRun
    ? NO_LOCK
    : startOperatorLock(
        transport,
        cluster.map((s) => s.target),
        {
          command: './provision.ts',
          breakLock: options.breakLock === true,
          ttlSeconds: inputs.config.lockTtl,
        },
        reporter,
      );
  let result: ProvisionResult;
  try {
    result = await rollOut(transport, options, reporter, ctx, fraction, lock);
  } finally {
    await lock.release();
  }
  reporter.event({
    type: 'done',
    hosts: result.hosts,
    seconds: (Date.now() - started) / 1000,
    dryRun: options.dryRun,
  });
  return result;
}

/** Everything after preflight: preparation, planning, the rolling groups. */
async function rollOut(
  transport: Transport,
  options: ProvisionOptions,
  reporter: Reporter,
  ctx: ClusterContext,
  fraction: number,
  lock: PendingLock,
): Promise<ProvisionResult> {
  const stop = options.stop ?? NEVER_STOP;
  const cluster = ctx.servers;
  const runner = new Runner(transport, { dryRun: options.dryRun, reporter, stop });
  const io: ClusterIO = {
    dryRun: options.dryRun,
    query: (on, script, what) => runner.query(on.target, script, what),
    async apply(on, phase) {
      await lock.ready();
      const outcome = await runner.runCluster(on.target, phase);
      if (outcome.error) throw outcome.error;
    },
  };
  // The DNS provider answers (and accepts the credentials) before anything changes. A run of
  // some components only (--only) leaves DNS alone unless it includes the web front.
  const withWeb = options.components.some((c) => c.name === 'web');
  const dns = !withWeb
    ? undefined
    : await ProvisionDns.start({
        config: ctx.config,
        servers: cluster,
        query: io.query,
        reporter,
        dryRun: options.dryRun,
      });
  const states = new Map<Component, unknown>();
  for (const c of options.components) if (c.prepare) states.set(c, await c.prepare(ctx, io));

  reporter.event({ type: 'stage', title: 'Plan', hosts: cluster.length });
  const work: HostWork[] = await pMap(cluster, options.parallel, async (self) => {
    const hctx: HostContext = { ...ctx, self };
    const phases = options.components.flatMap((c) => c.phases(hctx, states.get(c)));
    return { ctx: hctx, planned: await runner.planHost(self.target, phases), states };
  });

  const summaries: HostSummary[] = [];
  // A server an earlier run left drained (it failed its gates) is checked again even when
  // nothing changes on it: once its gates pass, it is published again.
  const drained = dns && !options.dryRun ? await dns.drained() : new Set<string>();
  for (const [i, w] of work.entries()) {
    if (
      !w.planned.some((p) => p.plan === undefined || hasWork(p.plan)) &&
      drained.has(w.ctx.self.hostname)
    )
      work[i] = { ...w, recheck: true };
  }
  const todo = work.filter(
    (w) => w.recheck === true || w.planned.some((p) => p.plan === undefined || hasWork(p.plan)),
  );
  for (const w of work) {
    if (todo.includes(w)) continue;
    const summary = summarize(w);
    summaries.push(summary);
    reporter.event({ type: 'host-done', summary });
  }
  // Servers that already serve roll first: by the time a new server joins anything, the others
  // know it (peers, firewall).
  const ordered = [
    ...todo.filter((w) => w.ctx.self.facts.provisioned),
    ...todo.filter((w) => !w.ctx.self.facts.provisioned),
  ];
  const groups = groupsOf(ordered, cluster.length, fraction);
  // Planning is read-only and went on while the operator lock was asked for; nothing is
  // changed (or reported converged) without it.
  await lock.ready();
  let failed = false;
  let interrupted = false;
  for (const [gi, group] of groups.entries()) {
    if (stop.requested) {
      interrupted = true;
      untouched(groups.slice(gi).flat(), reporter);
      break;
    }
    const label =
      groups.length > 1
        ? `Group ${gi + 1}/${groups.length}: ${group.map((w) => w.ctx.self.server.spec).join(', ')}`
        : 'Provision';
    reporter.event({
      type: 'stage',
      title: `${label}${options.dryRun ? ' (dry run)' : ''}`,
      hosts: group.length,
    });
    const servers = group.map((w) => w.ctx.self);
    // The drain: clients stop being sent to the group before it is touched.
    if (dns && !options.dryRun) await dns.drain(servers);
    const results = await pMap(group, options.parallel, (w) =>
      provisionHost(runner, w, options, reporter),
    );
    summaries.push(...results.map((r) => r.summary));
    const passed = servers.filter((_, i) => results[i]?.summary.failed === false);
    if (dns && !options.dryRun) await dns.undrain(passed);
    if (results.some((r) => r.left.length > 0)) interrupted = true;
    if (results.some((r) => r.summary.failed)) {
      failed = true;
      const rest = groups.slice(gi + 1).flat();
      if (rest.length > 0) {
        reporter.event({
          type: 'warn',
          host: 'rollout',
          message: `stopped: ${rest.map((w) => w.ctx.self.server.spec).join(', ')} left untouched`,
        });
      }
      break;
    }
    if (interrupted) {
      untouched(groups.slice(gi + 1).flat(), reporter);
      break;
    }
  }
  if (dns) {
    // Exactly the servers that serve: a failed server stays out (one that served keeps its
    // drain mark in etcd, so the agent keeps it out too).
    await dns.sync();
    if (!options.dryRun && !failed && !interrupted)
      await reportCertificate(ctx, io.query, reporter);
  }
  return { hosts: summaries, ok: !failed && !interrupted, interrupted };
}

function untouched(rest: readonly HostWork[], reporter: Reporter): void {
  if (rest.length === 0) return;
  reporter.event({
    type: 'warn',
    host: 'interrupted',
    message: `not started: ${rest.map((w) => w.ctx.self.server.spec).join(', ')}`,
  });
}

/** A host with nothing to change: not rolled, no gates. */
function summarize(w: HostWork): HostSummary {
  const results = w.planned.map((p) => ({ changes: [], unchanged: p.plan?.unchanged ?? 0 }));
  return hostSummary(w.ctx.self.server.spec, results, 0, undefined);
}

async function provisionHost(
  runner: Runner,
  w: HostWork,
  options: ProvisionOptions,
  reporter: Reporter,
): Promise<{ summary: HostSummary; left: readonly string[] }> {
  const started = Date.now();
  const target = w.ctx.self.target;
  const outcome = await runner.runHost(target, w.planned);
  let error = outcome.error;
  if (!error && (outcome.changed || w.recheck) && !options.dryRun && outcome.left.length === 0) {
    for (const c of options.components) {
      for (const gate of c.gates?.(w.ctx, w.states.get(c)) ?? []) {
        try {
          await runner.gate(target, gate);
        } catch (e) {
          error = e instanceof ShoestringError ? e : new ShoestringError(String(e));
        }
        if (error) break;
      }
      if (error) break;
    }
  }
  if (outcome.left.length > 0) {
    reporter.event({
      type: 'warn',
      host: target.name,
      message: `interrupted; left for the next run: ${outcome.left.join(', ')}`,
    });
  }
  const summary = hostSummary(
    w.ctx.self.server.spec,
    outcome.results,
    (Date.now() - started) / 1000,
    error,
  );
  reporter.event({ type: 'host-done', summary });
  return { summary, left: outcome.left };
}
