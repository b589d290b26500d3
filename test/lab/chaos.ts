/**
 * The chaos suite's measuring half: a scenario runs under the constant load of load.ts, marks
 * its failure events and its recovery, then waits until the cluster is clean again (every
 * server in DNS, answering /healthz over HTTPS, its database member Primary and Synced with all
 * members). A row then says: failed requests in the 20 s after each failure ("during") and
 * after that ("after"), seconds from the recovery until clean, the manual steps taken (only
 * those the README documents), and acknowledged writes missing from any member.
 */
import { resolveAll } from './browser.ts';
import { labAsync, log, on, runAsync } from './helpers.ts';
import { countWindow, startLoad, type Load, type LoadResult, type WindowCount } from './load.ts';
import { readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { DOMAIN, labAddresses, labCa, sleep } from './stack-checks.ts';
import { httpsCall } from './write-loop.ts';

/** The single-server goals (issue: ≤ 1 % failed during, none after 20 s, no write lost). */
export const GOALS = { duringRate: 0.01, afterFailed: 0, lost: 0, windowMs: 20_000 } as const;

export interface Lab {
  readonly addresses: readonly string[];
  /** Lab names (s1…) by address. */
  readonly names: ReadonlyMap<string, string>;
  readonly dns: string;
  readonly domain: string;
  readonly ca: () => Promise<Buffer>;
}

export interface Row {
  readonly scenario: string;
  readonly servers: number;
  readonly during: WindowCount;
  readonly after: WindowCount;
  /** Seconds from the (last) recovery action until clean. */
  readonly cleanS: number;
  readonly manual: string;
  readonly acked: number;
  readonly lost: number;
  /** Whether the single-server goals apply (not to every server stopped, nor to the disaster). */
  readonly single: boolean;
}

/** The lab as it is now: its servers (named s1… in order), its DNS, domain and CA. */
export function currentLab(): Lab {
  const addresses = labAddresses();
  return {
    addresses,
    names: new Map(addresses.map((a, i) => [a, `s${i + 1}`])),
    dns: parse(readFileSync('.lab/.env'))['LAB_DNS'] ?? '172.30.0.1',
    domain: DOMAIN(),
    ca: labCa,
  };
}

/** What the cluster lacks to be clean, or undefined when it is clean. */
export async function unclean(lab: Lab): Promise<string | undefined> {
  const n = lab.addresses.length;
  const inDns = (await resolveAll(lab.dns, `app1.${lab.domain}`)).sort();
  const want = [...lab.addresses].sort();
  if (inDns.join() !== want.join()) return `in DNS: ${inDns.join(' ') || 'none'}`;
  const ca = await lab.ca();
  for (const a of lab.addresses) {
    const h = await httpsCall(a, lab.domain, ca, 'GET', '/healthz');
    if (h.code !== 200) return `${lab.names.get(a) ?? a} /healthz ${h.code}`;
    const m = await on(
      a,
      `mariadb -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status','wsrep_local_state_comment','wsrep_cluster_size')" | cut -f2 | paste -sd' '`,
    );
    const state = m.out.split(' ').sort().join(' ');
    if (state !== [`${n}`, 'Primary', 'Synced'].sort().join(' '))
      return `${lab.names.get(a) ?? a} database: ${m.out || m.code}`;
  }
  return undefined;
}

/** Polls until clean; returns the seconds it took (throws after `limitS`). */
export async function waitClean(lab: Lab, limitS = 180): Promise<number> {
  const t0 = performance.now();
  let why: string | undefined = 'not checked';
  while (performance.now() - t0 < limitS * 1000) {
    why = await unclean(lab).catch((e: unknown) => String(e));
    if (why === undefined) return (performance.now() - t0) / 1000;
    log(`chaos: not clean yet: ${why}`);
    await sleep(1000);
  }
  throw new Error(`not clean ${limitS} s after the recovery: ${why}`);
}

/** Tokens of the rows every member holds, read through each server's front. */
export async function rowsEverywhere(lab: Lab): Promise<Set<string>[]> {
  const ca = await lab.ca();
  return Promise.all(
    lab.addresses.map(async (a) => {
      const r = await httpsCall(a, `app2.${lab.domain}`, ca, 'GET', '/rows/tokens');
      if (r.code !== 200) throw new Error(`tokens through ${a}: ${r.code} ${r.body.slice(0, 200)}`);
      return new Set(r.body.split('\n').filter(Boolean));
    }),
  );
}

/** Acknowledged writes of `results` that some member lacks. */
export async function lostWrites(lab: Lab, results: readonly LoadResult[]): Promise<string[]> {
  const acked = results.filter((r) => r.ok && r.token).map((r) => r.token ?? '');
  const everywhere = await rowsEverywhere(lab);
  return acked.filter((t) => everywhere.some((rows) => !rows.has(t)));
}

export interface Run {
  readonly load: Load;
  /** Marks a failure event now (its 20 s window starts). */
  failure(): void;
  /** Marks the recovery action now (the clean time is counted from the last one). */
  recovery(): void;
}

/**
 * Runs `act` under load: 3 s of load first, then the scenario, then waits until clean, keeps
 * the load 5 s more, and measures. `manual` names the documented step the scenario took.
 */
export async function scenario(
  lab: Lab,
  name: string,
  act: (run: Run) => Promise<void>,
  options: { manual?: string; single?: boolean; cleanLimitS?: number } = {},
): Promise<Row> {
  const load = startLoad({
    dns: lab.dns,
    ca: await lab.ca(),
    domain: lab.domain,
    prefix: `${name.replace(/\W+/g, '_')}-${Date.now()}`,
  });
  const failures: number[] = [];
  let recoveredAt = 0;
  await sleep(3000);
  const run: Run = {
    load,
    failure: () => void failures.push(load.now()),
    recovery: () => void (recoveredAt = load.now()),
  };
  log(`chaos: ${name}`);
  await act(run);
  if (recoveredAt === 0) recoveredAt = load.now();
  const sinceRecovery = (load.now() - recoveredAt) / 1000;
  const cleanS = sinceRecovery + (await waitClean(lab, options.cleanLimitS));
  // At least 5 s more, and until 30 s after the last failure (its "after" window is not empty).
  await sleep(Math.max(5000, (failures.at(-1) ?? 0) + 30_000 - load.now()));
  const results = await load.stop();
  const end = results.at(-1)?.at ?? 0;
  const windows = failures.map((f, i) => ({
    during: countWindow(results, f, f + GOALS.windowMs),
    after: countWindow(results, f + GOALS.windowMs, failures[i + 1] ?? end + 1),
  }));
  const lost = await lostWrites(lab, results);
  const row: Row = {
    scenario: name,
    servers: lab.addresses.length,
    during: sum(windows.map((w) => w.during)),
    after: sum(windows.map((w) => w.after)),
    cleanS,
    manual: options.manual ?? 'none',
    acked: results.filter((r) => r.ok && r.token).length,
    lost: lost.length,
    single: options.single ?? true,
  };
  console.log(`chaos: ${formatRow(row)}`);
  return row;
}

function sum(ws: readonly WindowCount[]): WindowCount {
  const requests = ws.reduce((n, w) => n + w.requests, 0);
  const failed = ws.reduce((n, w) => n + w.failed, 0);
  return {
    requests,
    failed,
    rate: requests === 0 ? 0 : failed / requests,
    examples: ws.flatMap((w) => w.examples).slice(0, 6),
  };
}

/** The goals a row misses, in words (empty when it meets them all). */
export function missedGoals(row: Row): string[] {
  const out: string[] = [];
  if (row.lost > GOALS.lost) out.push(`${row.lost} acknowledged writes lost`);
  if (!row.single) return out;
  if (row.during.rate > GOALS.duringRate)
    out.push(
      `${pct(row.during.rate)} failed in the 20 s after the failure (goal ≤ 1 %): ${row.during.examples.join('; ')}`,
    );
  if (row.after.failed > GOALS.afterFailed)
    out.push(
      `${row.after.failed} failed more than 20 s after the failure: ${row.after.examples.join('; ')}`,
    );
  if (row.manual !== 'none') out.push(`needed a manual step: ${row.manual}`);
  return out;
}

const pct = (r: number): string => `${(r * 100).toFixed(r > 0 && r < 0.01 ? 2 : 1)} %`;

function formatRow(r: Row): string {
  return [
    r.scenario,
    `${r.servers}`,
    `${pct(r.during.rate)} (${r.during.failed}/${r.during.requests})`,
    `${r.after.failed}/${r.after.requests}`,
    `${r.cleanS.toFixed(0)} s`,
    r.manual,
    `${r.lost}/${r.acked}`,
  ].join(' | ');
}

/** One Markdown table of every row (the README's "What we tested" quotes it). */
export function table(rows: readonly Row[]): string {
  const head = [
    'scenario',
    'servers',
    'failed in the first 20 s',
    'failed after 20 s',
    'clean after recovery',
    'manual step',
    'writes lost / acknowledged',
  ];
  const lines = [head, head.map(() => '---'), ...rows.map((r) => formatRow(r).split(' | '))];
  return lines.map((l) => `| ${l.join(' | ')} |`).join('\n');
}

/** `scripts/lab.ts <args>` in the background (a synchronous spawn would stall the load). */
export const lab = (...args: string[]): Promise<void> => labAsync(...args);

/** `provision.ts` with `args`, without stalling the load; throws when it fails. */
export async function provisionAsync(args: readonly string[]): Promise<string> {
  const r = await runAsync('provision.ts', args);
  if (r.code !== 0) throw new Error(`provision exit ${r.code}:\n${r.stdout}`);
  return r.stdout;
}

/** The server holding the agent's duties (a lab name such as s1). */
export async function dutyHolder(address: string): Promise<string> {
  const r = await on(address, 'etcdctl get --print-value-only /shoestring/agent/holder');
  return (JSON.parse(r.out) as { host: string }).host;
}
