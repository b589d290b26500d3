/**
 * Parsers (pure) for what TiUP prints: `tiup cluster check`'s result table and `tiup cluster
 * display`'s instance table. TiUP prints both with tabby (columns at least two spaces apart, a
 * line of dashes under the header), so a cell never holds two spaces in a row while one may hold
 * one ("Pending Offline", "tidb (patched)"). Colours are stripped first: TiUP colours only a
 * terminal, but nothing here depends on that.
 */
import { tail } from '../errors.ts';
import type { Verdict } from '../plan/phase.ts';

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function lines(text: string): string[] {
  return text
    .replace(ANSI, '')
    .split('\n')
    .map((l) => l.trimEnd());
}

function cells(line: string): string[] {
  return line.trim().split(/\s{2,}/);
}

const DASHES = /^-+(\s+-+)*$/;

export type CheckResult = 'Pass' | 'Warn' | 'Fail';

export interface CheckRow {
  readonly node: string;
  readonly check: string;
  readonly result: CheckResult;
  readonly message: string;
  /** The row as printed (trimmed), for quoting. */
  readonly line: string;
}

export interface CheckOutput {
  /** The result table was printed (the check ran through). */
  readonly table: boolean;
  readonly rows: readonly CheckRow[];
}

const CHECK_HEADER = /^Node\s+Check\s+Result\s+Message$/;
const RESULTS: readonly string[] = ['Pass', 'Warn', 'Fail'];

/** `tiup cluster check` output → its result rows. */
export function parseCheckOutput(text: string): CheckOutput {
  const all = lines(text);
  const start = all.findIndex((l) => CHECK_HEADER.test(l.trim()));
  if (start < 0) return { table: false, rows: [] };
  const rows: CheckRow[] = [];
  for (const line of all.slice(start + 1)) {
    if (line.trim() === '' || DASHES.test(line.trim())) continue;
    const [node = '', check = '', result = '', ...rest] = cells(line);
    if (!RESULTS.includes(result)) continue;
    rows.push({
      node,
      check,
      result: result as CheckResult,
      message: rest.join('  '),
      line: line.trim(),
    });
  }
  return { table: true, rows };
}

/** At most this many failed rows are quoted in a verdict (the rest are counted). */
const QUOTED = 8;

/** The check passed (undefined), or why not: every `Fail` row quoted. Warnings pass. */
export function checkVerdict(text: string): Verdict {
  const out = parseCheckOutput(text);
  if (!out.table) {
    const last = tail(text.replace(ANSI, ''));
    return `tiup cluster check printed no result table${last ? ` (${last})` : ''}`;
  }
  const failed = out.rows.filter((r) => r.result === 'Fail');
  if (failed.length === 0) return undefined;
  const quoted = failed.slice(0, QUOTED).map((r) => `"${r.line.replace(/\s{2,}/g, '  ')}"`);
  const more = failed.length > QUOTED ? `; and ${failed.length - QUOTED} more` : '';
  return `tiup cluster check failed ${failed.length} check(s): ${quoted.join('; ')}${more}`;
}

export interface DisplayInstance {
  readonly id: string;
  readonly role: string;
  readonly host: string;
  readonly ports: string;
  /** Up, Up|L (PD leader), Up|L|UI, Up|UI, Down, Disconnected, Tombstone, Pending Offline, N/A... */
  readonly status: string;
}

export interface DisplayOutput {
  readonly name: string | undefined;
  readonly version: string | undefined;
  /** The instance table was printed. */
  readonly table: boolean;
  readonly instances: readonly DisplayInstance[];
}

const DISPLAY_HEADER = /^ID\s+Role\s+Host\s+Ports\s+OS\/Arch\s+Status\s/;

/** `tiup cluster display <name>` output → the cluster's name, version and instances. */
export function parseDisplay(text: string): DisplayOutput {
  const all = lines(text);
  const field = (label: string): string | undefined => {
    for (const l of all) {
      const m = new RegExp(`^${label}:\\s+(\\S+)\\s*$`).exec(l.trim());
      if (m) return m[1];
    }
    return undefined;
  };
  const start = all.findIndex((l) => DISPLAY_HEADER.test(l.trim()));
  const instances: DisplayInstance[] = [];
  if (start >= 0) {
    for (const line of all.slice(start + 1)) {
      const t = line.trim();
      if (t.startsWith('Total nodes:')) break;
      if (t === '' || DASHES.test(t)) continue;
      const [id = '', role = '', host = '', ports = '', , status = ''] = cells(t); // 5th: OS/Arch
      if (status === '') continue;
      instances.push({ id, role, host, ports, status });
    }
  }
  return {
    name: field('Cluster name'),
    version: field('Cluster version'),
    table: start >= 0,
    instances,
  };
}

function flags(status: string): string[] {
  return status.split('|');
}

export interface DisplayExpectation {
  /** How many instances the topology has. */
  readonly instances: number;
  /** TIDB_VERSION. */
  readonly version: string;
}

/** The cluster is healthy (undefined): every instance Up, all listed, a PD leader. Else why not. */
export function displayVerdict(text: string, expected: DisplayExpectation): Verdict {
  const d = parseDisplay(text);
  if (!d.table || d.instances.length === 0) {
    const last = tail(text.replace(ANSI, ''));
    return `tiup cluster display shows no instances${last ? ` (${last})` : ''}`;
  }
  const down = d.instances.filter((i) => flags(i.status)[0] !== 'Up');
  if (down.length > 0)
    return `not Up: ${down.map((i) => `${i.id} (${i.role}) ${i.status}`).join(', ')}`;
  if (d.instances.length < expected.instances)
    return `${d.instances.length} of ${expected.instances} instances listed`;
  const pd = d.instances.filter((i) => i.role === 'pd');
  if (pd.length > 0 && !pd.some((i) => flags(i.status).includes('L')))
    return 'no PD instance is the leader (none shows Up|L)';
  if (d.version !== undefined && d.version !== expected.version)
    return `the cluster runs ${d.version} but TIDB_VERSION is ${expected.version} (Shoestring does not upgrade TiDB: tiup cluster upgrade does)`;
  return undefined;
}
