/** status.ts's table (pure): rows → aligned lines, coloured through a painter. */
import type { Health, StatusRow } from './probe.ts';

export type Painter = (health: Health, text: string) => string;

export const plain: Painter = (_h, t) => t;

export function statusTable(rows: readonly StatusRow[], paint: Painter = plain): string[] {
  const withDb = rows.some((r) => r.db !== undefined);
  const header = [
    'server',
    'host',
    'ssh',
    'private network',
    'etcd',
    'web',
    'fastrouter',
    'vassals',
  ];
  if (withDb) header.push('database');
  const cells = rows.map((r) => {
    const c: [string, Health | undefined][] = [
      [r.server, undefined],
      [r.hostname || '-', undefined],
      [r.ssh.text, r.ssh.health],
      [r.network.text, r.network.health],
      [r.etcd.text, r.etcd.health],
      [r.web.text, r.web.health],
      [r.fastrouter.text, r.fastrouter.health],
      [r.vassals.text, r.vassals.health],
    ];
    if (withDb) c.push(r.db ? [r.db.text, r.db.health] : ['-', undefined]);
    return c;
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...cells.map((c) => (c[i]?.[0] ?? '').length)),
  );
  const line = (c: [string, Health | undefined][]) =>
    c
      .map(([t, h], i) => {
        const padded = t.padEnd(widths[i] ?? 0);
        return h ? paint(h, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [
    header
      .map((h, i) => h.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
    ...cells.map(line),
  ];
}

/** Everything healthy: every cell ok (or no database), exactly one leader. */
export function allHealthy(rows: readonly StatusRow[]): boolean {
  const cellsOk = rows.every((r) =>
    [r.ssh, r.network, r.etcd, r.web, r.fastrouter, r.vassals, ...(r.db ? [r.db] : [])].every(
      (c) => c.health === 'ok',
    ),
  );
  return cellsOk && rows.filter((r) => r.leader).length === 1;
}
