/** `lab status` as a table. */
import type { LabStatus } from './lab.ts';

export function formatUptime(seconds: number | null): string {
  if (seconds === null) return '-';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(s).padStart(2, '0')}s`
      : `${s}s`;
}

export function formatStatus(st: LabStatus): string {
  if (!st.up) return 'lab: down';
  const rows = [
    ['NAME', 'ADDRESS', 'STATE', 'UPTIME'],
    ...st.servers.map((s) => [s.name, s.address, s.state, formatUptime(s.uptimeSeconds)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const table = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const svc = (ok: boolean): string => (ok ? 'up' : 'DOWN');
  return [
    `lab: ${st.domain} on ${st.subnet} · dns ${svc(st.services.dns)} · acme ${svc(st.services.acme)} · apt proxy ${svc(st.services.aptProxy)}`,
    ...table,
  ].join('\n');
}
