/**
 * The executor, the only place that touches servers for a plan. For one host: every phase known
 * in advance is probed in one round trip; a phase is probed again only after a change was made;
 * changes are applied in one round trip per phase; a phase marked with a turn is applied while
 * holding that cluster-wide turn; gates are polled. Dry-run is a mode of this executor: it
 * reports the plan (with file diffs) and changes nothing.
 */
import { CommandError, ConnectError, GateError, ShoestringError, tail } from '../errors.ts';
import type { Target } from '../ssh/target.ts';
import type { Transport } from '../ssh/transport.ts';
import { applyScript, finishScript, OWED, readApplyStderr } from './apply.ts';
import { reportDryRun } from './dry-run.ts';
import type { Reporter } from './events.ts';
import { staticSteps, type Gate, type Phase } from './phase.ts';
import { hasWork, NOTHING_TO_DO, planPhases, probeScript, type PhasePlan } from './probe.ts';
import { reportChanges } from './report.ts';
import { readSections, withoutMarkers } from './sections.ts';
import type { Step } from './steps/index.ts';
import type { Change, Notify } from './steps/types.ts';
import { NEVER_STOP, Turns, type StopSignal } from './turns.ts';

export interface PhaseResult {
  readonly phase: string;
  readonly changes: readonly Change[];
  readonly unchanged: number;
}

export interface HostOutcome {
  readonly results: readonly PhaseResult[];
  readonly error: ShoestringError | undefined;
  /** Titles of the phases not run because the run was stopped (Ctrl-C). */
  readonly left: readonly string[];
  /** Whether anything was changed (or, in a dry run, would be). */
  readonly changed: boolean;
}

export interface RunnerOptions {
  readonly dryRun: boolean;
  readonly reporter: Reporter;
  readonly stop?: StopSignal;
  /** Poll interval of gates, ms. */
  readonly pollMs?: number;
}

/** A phase with the plan made for it (undefined: plan it when its turn comes). */
export interface Planned {
  readonly phase: Phase;
  readonly plan: PhasePlan | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function wrap(host: string, e: unknown): ShoestringError {
  if (e instanceof ShoestringError) return e;
  return new ShoestringError(`${host}: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
  });
}

export class Runner {
  readonly #t: Transport;
  readonly #o: RunnerOptions;
  readonly #turns = new Turns();

  constructor(transport: Transport, options: RunnerOptions) {
    this.#t = transport;
    this.#o = options;
  }

  get dryRun(): boolean {
    return this.#o.dryRun;
  }

  get #stop(): StopSignal {
    return this.#o.stop ?? NEVER_STOP;
  }

  /** A read-only script (runs in dry runs too); its stdout. */
  async query(on: Target, script: string, what: string): Promise<string> {
    const res = await this.#t.run(on, script, { what, timeoutMs: 120_000 });
    return res.stdout;
  }

  #stepsOf(phase: Phase, answer: string | undefined): readonly Step[] {
    return typeof phase.steps === 'function' ? phase.steps(answer ?? '') : phase.steps;
  }

  /** Plans one phase now (its query first, if it has one). */
  async planOne(host: Target, phase: Phase): Promise<PhasePlan> {
    const answer = phase.query
      ? await this.query(phase.query.on, phase.query.script, `${phase.title} › query`)
      : undefined;
    const steps = this.#stepsOf(phase, answer);
    if (steps.length === 0) return NOTHING_TO_DO;
    const on = phase.on ?? host;
    const res = await this.#t.run(on, probeScript([steps]), { what: `${phase.title} › probe` });
    return planPhases([steps], res.stdout, on.name)[0] as PhasePlan;
  }

  /**
   * Plans every phase of a host: those that run on the host without a query in one round trip,
   * the others one by one.
   */
  async planHost(host: Target, phases: readonly Phase[]): Promise<Planned[]> {
    const batch = phases.filter((p) => !p.on && staticSteps(p) !== undefined);
    const batchSteps = batch.map((p) => staticSteps(p) ?? []);
    const plans = new Map<Phase, PhasePlan>();
    if (batchSteps.some((s) => s.length > 0)) {
      const res = await this.#t.run(host, probeScript(batchSteps), { what: 'probe' });
      planPhases(batchSteps, res.stdout, host.name).forEach((plan, i) =>
        plans.set(batch[i] as Phase, plan),
      );
    } else batch.forEach((p) => plans.set(p, NOTHING_TO_DO));
    for (const p of phases) if (!plans.has(p)) plans.set(p, await this.planOne(host, p));
    return phases.map((phase) => ({ phase, plan: plans.get(phase) }));
  }

  /** Runs a host's planned phases in order; stops at the first failure or when asked to stop. */
  async runHost(host: Target, planned: readonly Planned[]): Promise<HostOutcome> {
    const results: PhaseResult[] = [];
    let dirty = false;
    let changed = false;
    let held: { name: string; release: () => void } | undefined;
    const release = () => {
      held?.release();
      held = undefined;
    };
    try {
      for (const [i, { phase, plan: initial }] of planned.entries()) {
        if (this.#stop.requested) {
          return {
            results,
            error: undefined,
            left: planned.slice(i).map((p) => p.phase.title),
            changed,
          };
        }
        if (held && phase.turn !== held.name) release();
        this.#o.reporter.event({ type: 'phase', host: host.name, phase: phase.title });
        let plan = !dirty && initial ? initial : await this.planOne(host, phase);
        if (!hasWork(plan)) {
          results.push({ phase: phase.title, changes: [], unchanged: plan.unchanged });
          continue;
        }
        changed = true;
        if (this.#o.dryRun) {
          await reportDryRun(this.#t, this.#o.reporter, host, phase, plan);
          results.push({ phase: phase.title, changes: plan.changes, unchanged: plan.unchanged });
          continue;
        }
        if (phase.turn && held?.name !== phase.turn) {
          this.#o.reporter.event({
            type: 'info',
            host: host.name,
            message: `waiting for the ${phase.turn} turn`,
          });
          held = { name: phase.turn, release: await this.#turns.take(phase.turn) };
          // Another host may have changed the cluster while this one waited.
          plan = await this.planOne(host, phase);
          if (!hasWork(plan)) {
            results.push({ phase: phase.title, changes: [], unchanged: plan.unchanged });
            continue;
          }
        }
        dirty = true;
        const result = await this.#apply(host, phase, plan, held?.name);
        results.push(result);
        if (phase.confirm && result.changes.length > 0) await this.gate(host, phase.confirm);
      }
      return { results, error: undefined, left: [], changed };
    } catch (e) {
      return { results, error: wrap(host.name, e), left: [], changed };
    } finally {
      release();
    }
  }

  async #apply(host: Target, phase: Phase, plan: PhasePlan, holding: string | undefined) {
    const on = phase.on ?? host;
    const where = phase.on ? `on ${phase.on.name}: ` : '';
    const res = await this.#t.run(on, applyScript(plan), {
      what: phase.title,
      allowFailure: true,
      once: true,
    });
    if (res.code !== 0) {
      const { lastStep } = readApplyStderr(res.stderr);
      throw new CommandError(
        host.name,
        `${where}${phase.title}${lastStep ? ` › ${lastStep}` : ''}`,
        res.code,
        tail(withoutMarkers(res.stderr) || res.stdout),
      );
    }
    const { skipped } = readApplyStderr(res.stderr);
    const made = plan.changes.filter((c) => !skipped.has(c.title));
    reportChanges(this.#o.reporter, host, phase, plan.pending, made);
    const owed = this.#owed(res.stdout, plan);
    if (owed.length > 0) await this.#finish(host, on, phase, owed, holding);
    return {
      phase: phase.title,
      changes: made,
      unchanged: plan.unchanged + plan.changes.length - made.length,
    };
  }

  /** Turn-bound restarts the apply left to the runner. */
  #owed(stdout: string, plan: PhasePlan): Notify[] {
    const lines = readSections(stdout).get(OWED) ?? [];
    const declared = [...plan.pending, ...plan.changes.flatMap((c) => c.notify)];
    return lines.flatMap((line) => {
      const [service, action] = line.split(' ');
      const n = declared.find((d) => d.service === service && d.turn);
      return n ? [{ ...n, action: action === 'reload' ? 'reload' : 'restart' } as Notify] : [];
    });
  }

  async #finish(
    host: Target,
    on: Target,
    phase: Phase,
    owed: Notify[],
    holding: string | undefined,
  ) {
    for (const turn of [...new Set(owed.map((n) => n.turn as string))]) {
      const mine = owed.filter((n) => n.turn === turn);
      const release =
        holding === turn
          ? undefined
          : (this.#o.reporter.event({
              type: 'info',
              host: host.name,
              message: `waiting for the ${turn} turn`,
            }),
            await this.#turns.take(turn));
      try {
        const res = await this.#t.run(on, finishScript(mine), {
          what: `${phase.title} › ${mine.map((n) => `${n.action} ${n.service}`).join(', ')}`,
          allowFailure: true,
          once: true,
        });
        if (res.code !== 0) {
          throw new CommandError(
            host.name,
            `${phase.title} › ${readApplyStderr(res.stderr).lastStep ?? 'restart'}`,
            res.code,
            tail(withoutMarkers(res.stderr) || res.stdout),
          );
        }
        for (const n of mine) {
          this.#o.reporter.event({
            type: 'change',
            host: host.name,
            phase: phase.title,
            summary: `${n.action} ${n.service} (one server at a time)`,
          });
        }
      } finally {
        release?.();
      }
    }
  }

  /** Polls a gate until it passes, its budget is spent or waiting cannot help (throws GateError). */
  async gate(host: Target, gate: Gate): Promise<void> {
    const on = gate.on ?? host;
    const end = Date.now() + gate.seconds * 1000;
    let why: string | undefined = 'not asked yet';
    for (;;) {
      try {
        const res = await this.#t.run(on, gate.probe, {
          what: gate.title,
          allowFailure: true,
          ...(gate.fresh ? { fresh: gate.fresh } : {}),
        });
        why = gate.verdict(res.stdout);
        const final = why === undefined ? undefined : gate.hopeless?.(res.stdout);
        if (final !== undefined) {
          why = `${why}: ${final}`;
          break;
        }
      } catch (e) {
        // A gate probing over new connections is polled on through connection failures.
        if (!gate.fresh || !(e instanceof ConnectError)) throw e;
        why = `no new SSH connection (${e.message})`;
      }
      if (why === undefined) return;
      if (Date.now() >= end) break;
      await sleep(this.#o.pollMs ?? 500);
    }
    throw new GateError(`${host.name}: ${gate.title}: ${why}`, { hint: gate.hint });
  }

  /** A phase on one server before any host runs (cluster-wide work, e.g. removing a member). */
  async runCluster(on: Target, phase: Phase): Promise<HostOutcome> {
    const planned = [{ phase, plan: await this.planOne(on, phase) }];
    return this.runHost(on, planned);
  }
}
