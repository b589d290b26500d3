/**
 * Destroy: the components' teardown phases (steps that make things absent), run by the same
 * runner as provision, one named server after the other. A dry run probes and shows what would
 * change, with diffs, and changes nothing.
 */
import type { ClusterContext, ClusterServer, Component } from '../components/types.ts';
import type { HostSummary, Reporter } from '../plan/events.ts';
import { hostSummary } from '../plan/report.ts';
import { Runner } from '../plan/runner.ts';
import type { Transport } from '../ssh/transport.ts';
import { gatherFacts, type Inputs } from './context.ts';
import { ProvisionDns } from './dns.ts';
import { withOperatorLock } from './lock.ts';

export interface DestroyOptions {
  readonly dryRun: boolean;
  /** In the order their teardown runs (reverse provisioning order). */
  readonly components: readonly Component[];
  readonly reporter: Reporter;
  readonly breakLock?: boolean;
}

/** Returns whether every named server was cleaned. */
export async function destroy(
  transport: Transport,
  inputs: Inputs,
  names: readonly string[],
  options: DestroyOptions,
): Promise<boolean> {
  const { reporter } = options;
  const started = Date.now();
  reporter.event({ type: 'stage', title: 'Preflight', hosts: inputs.servers.length });
  const gathered = await gatherFacts(transport, inputs.servers, 20, [], inputs.config.network);
  const ctx: ClusterContext = {
    config: inputs.config,
    servers: gathered.servers,
    apps: inputs.apps,
    startTogether: new Set(),
    // Teardown only needs to know who is a member (a member leaves the group cleanly).
    database: {
      members:
        inputs.config.database === 'none'
          ? []
          : gathered.servers.filter((s) => inputs.dbServers.includes(s.server)),
      arbitrator: undefined,
      expectedSize: 0,
    },
    recover: false,
  };
  const runner = new Runner(transport, { dryRun: options.dryRun, reporter });
  const doomed = (s: ClusterServer) =>
    names.includes(s.server.spec) || names.includes(s.server.host);
  // The DNS provider answers before anything changes; the doomed servers leave DNS first.
  const dns = await ProvisionDns.start({
    config: inputs.config,
    servers: gathered.servers,
    query: (on, script, what) => runner.query(on.target, script, what),
    reporter,
    dryRun: options.dryRun,
  });
  const run = async () => {
    const leaving = gathered.servers.filter(doomed);
    await dns?.drain(leaving);
    const summaries = await destroyEach(runner, ctx, gathered, names, options);
    const gone = leaving.filter((s) =>
      summaries.some((h) => h.host === s.server.spec && !h.failed),
    );
    await dns?.remove(gone);
    await dns?.forget(leaving);
    return summaries;
  };
  // The lock lives on a server that stays, when there is one.
  const targets = [
    ...gathered.servers.filter((s) => !doomed(s)),
    ...gathered.servers.filter(doomed),
  ].map((s) => s.target);
  const summaries = options.dryRun
    ? await run()
    : await withOperatorLock(
        transport,
        targets,
        {
          command: 'scripts/destroy.ts',
          breakLock: options.breakLock === true,
          ttlSeconds: ctx.config.lockTtl,
        },
        reporter,
        run,
      );
  reporter.event({
    type: 'done',
    hosts: summaries,
    seconds: (Date.now() - started) / 1000,
    dryRun: options.dryRun,
  });
  return summaries.every((s) => !s.failed);
}

async function destroyEach(
  runner: Runner,
  ctx: ClusterContext,
  gathered: Awaited<ReturnType<typeof gatherFacts>>,
  names: readonly string[],
  options: DestroyOptions,
): Promise<HostSummary[]> {
  const { reporter } = options;
  const summaries: HostSummary[] = [];
  reporter.event({
    type: 'stage',
    title: `Destroy${options.dryRun ? ' (dry run)' : ''}`,
    hosts: names.length,
  });
  for (const name of names) {
    const t0 = Date.now();
    const self = gathered.servers.find((s) => s.server.spec === name || s.server.host === name);
    if (!self) {
      const why = gathered.failures.find((f) => f.message.startsWith(`${name}:`));
      const summary: HostSummary = {
        host: name,
        changed: 0,
        unchanged: 0,
        failed: true,
        seconds: 0,
        error: `unreachable; nothing removed${why ? ` (${why.message})` : ''}`,
      };
      summaries.push(summary);
      reporter.event({ type: 'host-done', summary });
      continue;
    }
    const phases = options.components.flatMap((c) => c.teardown?.({ ...ctx, self }) ?? []);
    const outcome = await runner.runHost(self.target, await runner.planHost(self.target, phases));
    const summary = hostSummary(name, outcome.results, (Date.now() - t0) / 1000, outcome.error);
    summaries.push(summary);
    reporter.event({ type: 'host-done', summary });
  }
  return summaries;
}
