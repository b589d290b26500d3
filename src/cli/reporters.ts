/**
 * Reporters render run events: plain `host: message` lines (not a TTY, or CI), a live status
 * line per host on a terminal, or one JSON object per line (--json). All output is redacted.
 */
import { redact } from '../redact.ts';
import type { HostSummary, Reporter, RunEvent } from '../plan/events.ts';
import { isTTY, outJson, paint } from './output.ts';

function write(line: string): void {
  process.stdout.write(redact(line) + '\n');
}

/** The final table: host, changed, unchanged, failed, seconds (pure). */
export function summaryTable(hosts: readonly HostSummary[]): string[] {
  const rows = [['host', 'changed', 'unchanged', 'failed', 'seconds']];
  for (const h of hosts)
    rows.push([
      h.host,
      String(h.changed),
      String(h.unchanged),
      h.failed ? 'yes' : 'no',
      h.seconds.toFixed(1),
    ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
  );
}

export function summaryLine(
  hosts: readonly HostSummary[],
  seconds: number,
  dryRun: boolean,
): string {
  const changed = hosts.reduce((a, h) => a + h.changed, 0);
  const unchanged = hosts.reduce((a, h) => a + h.unchanged, 0);
  const failed = hosts.filter((h) => h.failed).length;
  const verb = dryRun ? 'to change' : 'changed';
  return `Summary: ${hosts.length} host${hosts.length === 1 ? '' : 's'} · ${changed} ${verb} · ${unchanged} unchanged · ${failed} failed · ${seconds.toFixed(1)} s`;
}

function describe(e: RunEvent): string[] {
  switch (e.type) {
    case 'stage':
      return [`==> ${e.title} (${e.hosts} host${e.hosts === 1 ? '' : 's'})`];
    case 'phase':
      return [];
    case 'change': {
      const lines = [`${e.host}: ${paint('yellow', '~')} ${e.phase} › ${e.summary}`];
      if (e.diff) lines.push(...e.diff.split('\n').map((l) => `${e.host}:     ${l}`));
      return lines;
    }
    case 'info':
      return [`${e.host}: ${e.message}`];
    case 'warn':
      return [`${e.host}: ${paint('yellow', 'warning:')} ${e.message}`];
    case 'problem':
      return [`${e.host}: ${paint('red', '✗')} ${e.message}`];
    case 'host-done': {
      const s = e.summary;
      if (s.failed) return [`${s.host}: ${paint('red', '✗')} ${s.error ?? 'failed'}`];
      return [
        `${s.host}: ${paint('green', '✓')} ${s.changed} changed, ${s.unchanged} unchanged (${s.seconds.toFixed(1)} s)`,
      ];
    }
    case 'done':
      return ['', ...summaryTable(e.hosts), '', summaryLine(e.hosts, e.seconds, e.dryRun)];
  }
}

export class PlainReporter implements Reporter {
  event(e: RunEvent): void {
    for (const line of describe(e)) write(line);
  }
  close(): void {}
}

export class JsonReporter implements Reporter {
  event(e: RunEvent): void {
    outJson({ time: new Date().toISOString(), ...e });
  }
  close(): void {}
}

/** Lines scroll above a block of live status lines, one per host, redrawn in place. */
export class LiveReporter implements Reporter {
  readonly #status = new Map<string, string>();
  #drawn = 0;

  #clear(): void {
    if (this.#drawn > 0) process.stdout.write(`\x1b[${this.#drawn}A\x1b[0J`);
    this.#drawn = 0;
  }
  #draw(): void {
    const cols = process.stdout.columns || 100;
    for (const [host, status] of this.#status) {
      process.stdout.write(
        redact(`${paint('blue', '…')} ${host}: ${status}`).slice(0, cols + 20) + '\n',
      );
      this.#drawn++;
    }
  }
  event(e: RunEvent): void {
    this.#clear();
    if (e.type === 'phase') this.#status.set(e.host, e.phase);
    if (e.type === 'host-done') this.#status.delete(e.summary.host);
    for (const line of describe(e)) write(line);
    this.#draw();
  }
  close(): void {
    this.#clear();
    this.#status.clear();
  }
}

export function makeReporter(json: boolean): Reporter {
  if (json) return new JsonReporter();
  return isTTY() ? new LiveReporter() : new PlainReporter();
}
