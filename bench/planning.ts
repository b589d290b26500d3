#!/usr/bin/env -S node --import tsx
/**
 * Benchmark: provision's whole planning, everything but SSH, for a large synthetic cluster
 * (default 500 servers): read a generated servers file, .env and the apps; the cluster context
 * (private addresses, the database layout); every component's prepare (WireGuard keys and peers,
 * etcd's 5 voters and the proxies, the Galera plan), with the servers' answers made up; every
 * host's phases (files rendered from the templates); every host's probe script and its plan
 * against what a probe would print; the rolling groups; and apart, the apply scripts of the
 * changes. Two clusters: fresh servers (everything to do) and a converged one (nothing to do).
 * Each run is a new process, as a provision is (cold: templates compiled, code not yet
 * optimised). Prints per stage the median wall time (min … max), the process's CPU time and the
 * garbage collector's pauses. PLANNING_MARKS=1 prints each stage's end on stderr (to cut a
 * `node --cpu-prof` profile of one `--once fresh|converged` run by stage).
 * Run: node --import tsx bench/planning.ts [--servers 500] [--runs 7] [--scenario fresh|converged|both]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { agentBundle } from '../src/agent/bundle.ts';
import { COMPONENTS } from '../src/components/index.ts';
import type { ClusterContext, ClusterServer } from '../src/components/types.ts';
import { databaseLayout } from '../src/database/layout.ts';
import { privateAddresses } from '../src/network/addresses.ts';
import { surveyOf } from '../src/network/survey.ts';
import { applyScript } from '../src/plan/apply.ts';
import { staticSteps, type Phase } from '../src/plan/phase.ts';
import { hasWork, planPhases, probeScript, type PhasePlan } from '../src/plan/probe.ts';
import { groupsOf } from '../src/plan/rolling.ts';
import { loadInputs } from '../src/provision/context.ts';
import * as survey from './planning-survey.ts';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '500' },
    runs: { type: 'string', default: '7' },
    scenario: { type: 'string', default: 'both' },
    // Internal: one measurement in this process, printed as JSON.
    once: { type: 'string' },
  },
});
const n = Number(values.servers);
if (!Number.isInteger(n) || n < 3) throw new Error('--servers: a whole number, at least 3');

/** Stage name → milliseconds, in order. */
type Timings = Record<string, number>;

async function measure(scenario: 'fresh' | 'converged'): Promise<Timings> {
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-bench-planning-'));
  const serversFile = join(dir, 'servers.txt');
  writeFileSync(serversFile, survey.serversText(n));
  const DB_MEMBERS = 3;
  writeFileSync(
    join(dir, 'db-servers.txt'),
    survey
      .serversText(DB_MEMBERS)
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n'),
  );
  writeFileSync(join(dir, '.env'), survey.ENV_TEXT);

  // Wall time per stage, and this process's CPU time (all its threads: the garbage collector's
  // helpers too; not esbuild's, a process of its own), which a busy machine inflates less.
  const t: Timings = {};
  // Garbage collection pauses, put in the stage they fell in at the end.
  const pauses: { start: number; ms: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ start: e.startTime, ms: e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const ranges: { stage: string; from: number; to: number }[] = [];
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let mark = performance.now();
  let cpuMark = cpuNow();
  const lap = (stage: string) => {
    const now = performance.now();
    const cpu = cpuNow();
    t[stage] = (t[stage] ?? 0) + (now - mark);
    ranges.push({ stage, from: mark, to: now });
    t[`cpu:${stage}`] = (t[`cpu:${stage}`] ?? 0) + (cpu - cpuMark);
    mark = now;
    cpuMark = cpu;
    if (process.env['PLANNING_MARKS'])
      console.error(`mark ${stage} ${process.hrtime.bigint() / 1000n}`);
  };
  // The made-up answers are garbage the planning should not pay for: collected out of time.
  const gc = (globalThis as { gc?: () => void }).gc;
  const untimed = () => {
    gc?.();
    if (process.env['PLANNING_MARKS'])
      console.error(`mark untimed ${process.hrtime.bigint() / 1000n}`);
    mark = performance.now();
    cpuMark = cpuNow();
  };

  // As provision does: the agent is built (esbuild, a process of its own) from the start, while
  // preflight asks the servers; only the agent's prepare, the last, awaits it.
  void agentBundle();

  // The inputs, as loadInputs reads them (servers file, db-servers file, .env, the apps).
  const inputs = loadInputs({ servers: serversFile, env: join(dir, '.env') });
  databaseLayout(
    inputs.config.database,
    inputs.servers,
    inputs.dbServers,
    (s) => s.spec,
    inputs.dbServersFile,
  );
  lap('inputs');

  // What preflight would have gathered (made up, not timed), then what gatherFacts and
  // provision compute from it: private addresses, the first group, the database layout.
  const answers = survey.preflightAnswers(
    inputs.servers,
    scenario,
    inputs.config.network.cidr,
    inputs.config.network.port,
    DB_MEMBERS,
  );
  untimed();
  const privates = privateAddresses(
    answers.map((s) => s.server),
    answers.map((s) => surveyOf(s).address),
    inputs.config.network.cidr,
  );
  const cluster = answers.map((s, i) => ({ ...s, private: privates[i] ?? '' }));
  const serving = cluster.some((s) => s.facts.provisioned);
  const fraction = serving ? 0.5 : 1;
  const parallel = 20;
  const first = groupsOf(cluster, cluster.length, fraction)[0] ?? [];
  const ctx: ClusterContext = {
    config: inputs.config,
    servers: cluster,
    apps: inputs.apps,
    startTogether: new Set(first.length <= parallel ? first.map((s) => s.hostname) : []),
    database: databaseLayout(
      inputs.config.database,
      cluster,
      cluster.filter((s) => inputs.dbServers.includes(s.server)),
      (s) => s.server.spec,
      inputs.dbServersFile,
    ),
    recover: false,
  };
  lap('context');

  /** Every phase planned (prepare's own applies too), for their apply scripts at the end. */
  const planned: { plan: PhasePlan }[] = [];
  let applies = 0;
  const io = {
    dryRun: false,
    query: (on: ClusterServer, _script: string, what: string) =>
      Promise.resolve(survey.queryAnswer(on, what)),
    // As the runner does: the phase probed (the output made up, out of time) and planned.
    apply(on: ClusterServer, phase: Phase) {
      applies++;
      const steps = [typeof phase.steps === 'function' ? phase.steps('') : phase.steps];
      const before = performance.now();
      const cpuBefore = cpuNow();
      const output = survey.probeOutput(steps, scenario);
      mark += performance.now() - before;
      cpuMark += cpuNow() - cpuBefore;
      probeScript(steps);
      for (const plan of planPhases(steps, output, on.target.name)) planned.push({ plan });
      return Promise.resolve();
    },
  };
  const states = new Map<unknown, unknown>();
  for (const c of COMPONENTS) {
    if (!c.prepare) continue;
    // The agent's prepare is what is left of its build (a provision has spent at least a
    // preflight round trip on it too; here only the other components' prepare overlaps it).
    if (c.name === 'agent') lap('prepare');
    states.set(c, await c.prepare(ctx, io));
    if (c.name === 'agent') lap('agent bundle');
  }
  lap('prepare');

  const hosts = cluster.map((self) => {
    const hctx = { ...ctx, self };
    return { self, phases: COMPONENTS.flatMap((c) => c.phases(hctx, states.get(c))) };
  });
  lap('phases');

  // Every host's plan: the phases known in advance in one probe, the others one by one (a
  // joining etcd member's phases, planned when its turn comes), each against what its probe
  // would print (made up as the host's turn comes, out of time, and dropped after, as a
  // probe's answer is).
  untimed();
  const work = hosts.map((h) => {
    const batch = h.phases.filter((p) => !p.on && staticSteps(p) !== undefined);
    const late = h.phases.filter((p) => !batch.includes(p));
    const plans = [
      batch.map((p) => staticSteps(p) ?? []),
      ...late.map((p) => [typeof p.steps === 'function' ? p.steps('') : p.steps]),
    ].flatMap((steps) => {
      const before = performance.now();
      const cpuBefore = cpuNow();
      const output = survey.probeOutput(steps, scenario);
      mark += performance.now() - before;
      cpuMark += cpuNow() - cpuBefore;
      probeScript(steps);
      return planPhases(steps, output, h.self.target.name);
    });
    for (const plan of plans) planned.push({ plan });
    return { h, plans };
  });
  lap('plan');

  const todo = work.filter((w) => w.plans.some(hasWork));
  const ordered = [
    ...todo.filter((w) => w.h.self.facts.provisioned),
    ...todo.filter((w) => !w.h.self.facts.provisioned),
  ];
  const groups = groupsOf(ordered, cluster.length, fraction);
  lap('rolling groups');

  // Not planning: each host's apply scripts are made as it is applied, between its SSH round
  // trips. Shown apart, to see what they cost.
  let scripts = 0;
  for (const { plan } of planned) {
    if (!hasWork(plan)) continue;
    applyScript(plan);
    scripts++;
  }
  lap('apart:apply scripts');

  rmSync(dir, { recursive: true, force: true });
  await new Promise((r) => setTimeout(r, 50)); // the observer's last entries
  observer.disconnect();
  for (const p of pauses) {
    const r = ranges.find((x) => p.start >= x.from && p.start < x.to);
    if (r) t[`gc:${r.stage}`] = (t[`gc:${r.stage}`] ?? 0) + p.ms;
  }
  const changes = planned.reduce((sum, p) => sum + p.plan.changes.length, 0);
  const steps = hosts.reduce(
    (sum, h) => sum + h.phases.reduce((s, p) => s + (staticSteps(p)?.length ?? 0), 0),
    0,
  );
  return {
    ...t,
    'meta:steps': steps,
    'meta:changes': changes,
    'meta:applies in prepare': applies,
    'meta:apply scripts': scripts,
    'meta:groups': groups.length,
  };
}

if (values.once) {
  const scenario = values.once === 'fresh' ? 'fresh' : 'converged';
  console.log(JSON.stringify(await measure(scenario)));
  process.exit(0);
}

const runs = Math.max(1, Number(values.runs));
const scenarios =
  values.scenario === 'both' ? (['fresh', 'converged'] as const) : [values.scenario as 'fresh'];
const self = fileURLToPath(import.meta.url);
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

for (const scenario of scenarios) {
  const all: Timings[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', self, '--once', scenario, '--servers', String(n)],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (r.status !== 0)
      throw new Error(`run ${i + 1} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    all.push(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Timings);
  }
  const keys = Object.keys(all[0] ?? {});
  const stages = keys.filter((k) => !k.includes(':'));
  const apart = keys.filter((k) => k.startsWith('apart:'));
  const total = all.map((r) => stages.reduce((s, k) => s + (r[k] ?? 0), 0));
  const cpuTotal = all.map((r) => stages.reduce((s, k) => s + (r[`cpu:${k}`] ?? 0), 0));
  const gcTotal = all.map((r) => stages.reduce((s, k) => s + (r[`gc:${k}`] ?? 0), 0));
  const meta = Object.entries(all[0] ?? {})
    .filter(([k]) => k.startsWith('meta:'))
    .map(([k, v]) => `${v} ${k.slice(5)}`)
    .join(', ');
  console.log(`${scenario}, ${n} servers, ${runs} runs (${meta}):`);
  const line = (name: string, xs: number[], cpu: number[], gc: number[]) =>
    console.log(
      `  ${name.padEnd(15)} median ${ms(median(xs)).padStart(6)} ms  (${ms(Math.min(...xs))} … ${ms(Math.max(...xs))}); CPU ${ms(median(cpu))} ms, GC pauses ${ms(median(gc))} ms`,
    );
  const of = (key: string) => all.map((r) => r[key] ?? 0);
  for (const stage of stages) line(stage, of(stage), of(`cpu:${stage}`), of(`gc:${stage}`));
  line('total', total, cpuTotal, gcTotal);
  console.log(`  ${''.padEnd(15)} runs ${total.map(ms).join(', ')} ms`);
  for (const key of apart)
    line(`(${key.slice(6)}, not in the total)`, of(key), of(`cpu:${key}`), of(`gc:${key}`));
}
