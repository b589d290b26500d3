/**
 * The provision pipeline: inputs → preflight → groups → (per group: provision hosts in
 * parallel → health gate) → summary. Stops at the first failing group; later groups are
 * left untouched.
 */
import { ConfigError, ShoestringError } from '../errors.ts';
import { unsupportedSettings } from './unsupported.ts';
import type { Component, ClusterContext, ClusterServer, HostContext } from '../components/types.ts';
import type { HostSummary, Reporter } from '../plan/events.ts';
import { splitGroups } from '../plan/rolling.ts';
import { runHost } from '../plan/runner.ts';
import { checkCluster, checkHost } from '../preflight/check.ts';
import { pMap } from '../ssh/transport.ts';
import { gatherFacts, makeTransport, type Inputs } from './context.ts';

export interface ProvisionOptions {
  readonly dryRun: boolean;
  readonly parallel: number;
  /** Fraction of the fleet per group; undefined = 0.5 when the cluster serves, else all at once. */
  readonly percent: number | undefined;
  readonly components: readonly Component[];
}

export interface ProvisionResult {
  readonly hosts: HostSummary[];
  readonly ok: boolean;
}

export async function provision(
  inputs: Inputs,
  options: ProvisionOptions,
  reporter: Reporter,
): Promise<ProvisionResult> {
  const started = Date.now();
  const transport = makeTransport(inputs.config);
  const servers = inputs.servers;

  const unsupported = unsupportedSettings(inputs.config);
  if (unsupported.refuse.length > 0) {
    throw new ConfigError(
      `${inputs.config.file}: not available in this version:`,
      unsupported.refuse,
    );
  }
  for (const w of unsupported.warn) reporter.event({ type: 'warn', host: 'settings', message: w });
  reporter.event({ type: 'stage', title: 'Preflight', hosts: servers.length });
  const gathered = await gatherFacts(transport, servers, options.parallel);
  const problems: string[] = gathered.failures.map((f) => f.message);
  const hostnames = new Map<string, string>();
  gathered.servers.forEach((s, i) => {
    const verdict = checkHost({
      host: s.server.spec,
      facts: s.facts,
      localEpoch: gathered.epochs[i] ?? Math.floor(Date.now() / 1000),
      database: inputs.config.database,
      webServer: inputs.config.webServer,
    });
    problems.push(...verdict.problems);
    for (const w of verdict.warnings)
      reporter.event({ type: 'warn', host: s.server.spec, message: w });
    const other = hostnames.get(s.hostname);
    if (other)
      problems.push(
        `${s.server.spec}: host name ${s.hostname} is also ${other}'s; every server needs its own name`,
      );
    hostnames.set(s.hostname, s.server.spec);
  });
  for (const w of checkCluster(servers.length).warnings)
    reporter.event({ type: 'warn', host: 'cluster', message: w });
  if (problems.length > 0) {
    for (const p of problems) reporter.event({ type: 'warn', host: 'preflight', message: p });
    throw new ShoestringError(
      `preflight found ${problems.length} problem(s); nothing was changed`,
      {
        hint: 'fix the problems listed above and run again',
      },
    );
  }
  // Keep servers.txt order (gatherFacts already does).
  const cluster: ClusterServer[] = gathered.servers;
  const serving = cluster.some((s) => s.facts.provisioned);
  const fraction = options.percent ?? (serving ? 0.5 : 1);
  const groups = splitGroups(cluster, fraction);
  const first = groups[0] ?? [];
  const ctx: ClusterContext = {
    config: inputs.config,
    servers: cluster,
    transport,
    dryRun: options.dryRun,
    // Hosts worked on at the same time first: all of the first group when --parallel allows.
    startTogether: new Set(first.length <= options.parallel ? first.map((s) => s.hostname) : []),
  };
  for (const c of options.components) if (c.prepare) await c.prepare(ctx);

  const summaries: HostSummary[] = [];
  let failed = false;
  for (const [gi, group] of groups.entries()) {
    const label =
      groups.length > 1
        ? `Group ${gi + 1}/${groups.length}: ${group.map((s) => s.server.spec).join(', ')}`
        : 'Provision';
    reporter.event({
      type: 'stage',
      title: `${label}${options.dryRun ? ' (dry run)' : ''}`,
      hosts: group.length,
    });
    const results = await pMap(group, options.parallel, (self) =>
      provisionHost({ ...ctx, self }, options, reporter),
    );
    summaries.push(...results);
    if (results.some((r) => r.failed)) {
      failed = true;
      const rest = groups.slice(gi + 1).flat();
      if (rest.length > 0) {
        reporter.event({
          type: 'warn',
          host: 'rollout',
          message: `stopped: ${rest.map((s) => s.server.spec).join(', ')} left untouched`,
        });
      }
      break;
    }
  }
  reporter.event({
    type: 'done',
    hosts: summaries,
    seconds: (Date.now() - started) / 1000,
    dryRun: options.dryRun,
  });
  return { hosts: summaries, ok: !failed };
}

async function provisionHost(
  ctx: HostContext,
  options: ProvisionOptions,
  reporter: Reporter,
): Promise<HostSummary> {
  const started = Date.now();
  const host = ctx.self.server.spec;
  const sources = options.components.flatMap((c) => c.phases(ctx));
  let outcome;
  try {
    outcome = await runHost(
      ctx.transport,
      ctx.self.target,
      sources,
      { dryRun: options.dryRun },
      reporter,
    );
  } finally {
    for (const c of options.components) c.hostDone?.(ctx);
  }
  let error = outcome.error;
  if (!error && !options.dryRun) {
    for (const c of options.components) {
      if (!c.gate) continue;
      try {
        await c.gate(ctx);
      } catch (e) {
        error =
          e instanceof ShoestringError
            ? e
            : new ShoestringError(`${host}: ${c.name} health gate: ${String(e)}`);
        break;
      }
    }
  }
  const summary: HostSummary = {
    host,
    changed: outcome.results.reduce((a, r) => a + r.changes.length, 0),
    unchanged: outcome.results.reduce((a, r) => a + r.unchanged, 0),
    failed: error !== undefined,
    seconds: (Date.now() - started) / 1000,
    ...(error ? { error: error.message.replace(`${host}: `, '') } : {}),
  };
  reporter.event({ type: 'host-done', summary });
  return summary;
}
