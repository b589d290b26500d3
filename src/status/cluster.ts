/**
 * The cluster-wide part of status, read from etcd on one server: who holds the agent's duties,
 * the last health round and each server in or out of DNS, the last DNS changes, and the
 * certificate (expiry, renewal date, where it is installed). Parsed and formatted purely.
 */
import type { DnsChangeRecord, DnsState } from '../agent/dns-duty.ts';
import { KEYS } from '../agent/keys.ts';
import type { TlsStatus } from '../agent/cert-duty.ts';
import { ETCDCTL } from '../etcd/remote.ts';
import { q } from '../ssh/quote.ts';

const ASK = '--dial-timeout=2s --command-timeout=5s';
const MARK = '@@shoestring-section';

/** Prints each key's value (or nothing) after a marker line; the certificate without its key. */
export const CLUSTER_STATUS_SCRIPT = [
  ['holder', KEYS.holder],
  ['dns', KEYS.dnsState],
  ['changes', KEYS.dnsChanges],
  ['tls', KEYS.tlsStatus],
]
  .map(
    ([name, key]) =>
      `echo ${q(`${MARK} ${name}`)}; ${ETCDCTL} ${ASK} get --print-value-only ${q(key ?? '')} 2>/dev/null || true`,
  )
  .concat([
    `echo ${q(`${MARK} certificate`)}`,
    // The private key stays on the server: only the public facts leave it.
    `${ETCDCTL} ${ASK} get --print-value-only ${q(KEYS.certificate)} 2>/dev/null | python3 -c 'import json,sys
try:
  c=json.load(sys.stdin); print(json.dumps({k: c[k] for k in ("serial","notBefore","notAfter","domains","issuedBy","issuedAt")}))
except Exception: pass' || true`,
    `echo ${q(`${MARK} installed`)}`,
    `${ETCDCTL} ${ASK} get --prefix ${q(KEYS.installedPrefix)} 2>/dev/null || true`,
  ])
  .join('\n');

export interface ClusterStatus {
  readonly holder: { host: string; since: string } | undefined;
  readonly dns: DnsState | undefined;
  readonly changes: DnsChangeRecord[];
  readonly tls: TlsStatus | undefined;
  readonly certificate:
    | { serial: string; notBefore: string; notAfter: string; domains: string[]; issuedBy: string }
    | undefined;
  /** host → serial installed there. */
  readonly installed: Record<string, string>;
}

function json<T>(text: string | undefined): T | undefined {
  if (!text || text.trim() === '') return undefined;
  try {
    return JSON.parse(text.trim()) as T;
  } catch {
    return undefined;
  }
}

export function parseClusterStatus(out: string): ClusterStatus {
  const sections = new Map<string, string>();
  let current = '';
  for (const line of out.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      current = line.slice(MARK.length + 1);
      sections.set(current, '');
    } else if (current) sections.set(current, `${sections.get(current) ?? ''}${line}\n`);
  }
  const installed: Record<string, string> = {};
  const lines = (sections.get('installed') ?? '').split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const serial = json<{ serial?: string }>(lines[i + 1])?.serial;
    if (serial) installed[(lines[i] ?? '').slice(KEYS.installedPrefix.length)] = serial;
  }
  return {
    holder: json(sections.get('holder')),
    dns: json(sections.get('dns')),
    changes: json<DnsChangeRecord[]>(sections.get('changes')) ?? [],
    tls: json(sections.get('tls')),
    certificate: json(sections.get('certificate')),
    installed,
  };
}

function ago(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export type Level = 'ok' | 'warn' | 'bad';

/** Pure: the lines status prints under its table, each with a level (for colour and exit). */
export function clusterLines(c: ClusterStatus, now: number): { level: Level; text: string }[] {
  const hosts = Object.keys(c.dns?.book ?? c.installed).sort();
  const lines: { level: Level; text: string }[] = [];
  lines.push(
    c.holder
      ? { level: 'ok', text: `agent duties: held by ${c.holder.host} (since ${c.holder.since})` }
      : { level: 'bad', text: 'agent duties: nobody holds them (no DNS failover, no renewal)' },
  );
  if (c.dns) {
    const age = (now - Date.parse(c.dns.at)) / 1000;
    lines.push({
      level: age > 30 ? 'warn' : 'ok',
      text: `last health round: ${ago(c.dns.at, now)} by ${c.dns.holder}; in DNS: ${c.dns.published.join(' ') || 'none'}${c.dns.keptLast ? ' (every server failing: the last kept)' : ''}`,
    });
    for (const host of hosts) {
      const h = c.dns.book[host];
      if (!h) continue;
      const drained = c.dns.drained.includes(host);
      // Healthy and not published: more servers are healthy than DNS_MAX_RECORDS.
      const waiting = h.in && !c.dns.published.includes(h.address);
      const state = drained
        ? 'drained (provision)'
        : !h.in
          ? 'out of DNS'
          : waiting
            ? 'healthy, not in DNS now (DNS_MAX_RECORDS: servers take turns)'
            : 'in DNS';
      lines.push({
        level: !h.in || drained ? 'warn' : h.failures > 0 ? 'warn' : 'ok',
        text: `  ${host} ${h.address}: ${state}${h.failures > 0 ? `, ${h.failures} failed check(s) (${h.reason ?? ''})` : ''}, since ${ago(new Date(h.since).toISOString(), now)}`,
      });
    }
  } else {
    lines.push({ level: 'warn', text: 'DNS health: no round recorded yet' });
  }
  for (const ch of c.changes.slice(-5)) {
    lines.push({ level: 'ok', text: `  ${ch.at} ${ch.by}: ${ch.what}` });
  }
  if (c.certificate) {
    const from = Date.parse(c.certificate.notBefore);
    const to = Date.parse(c.certificate.notAfter);
    const renew = new Date(from + ((to - from) * 2) / 3).toISOString();
    const days = Math.floor((to - now) / 86_400_000);
    const missing = hosts.filter((h) => c.installed[h] !== c.certificate?.serial);
    lines.push({
      level: days < 14 ? 'bad' : days < 30 ? 'warn' : 'ok',
      text: `certificate: ${c.certificate.domains.join(', ')}, serial ${c.certificate.serial}, expires ${c.certificate.notAfter} (${days} days), renewal from ${renew}`,
    });
    lines.push({
      level: missing.length > 0 ? 'warn' : 'ok',
      text:
        missing.length > 0
          ? `  not installed yet on ${missing.join(', ')}`
          : '  installed on every server',
    });
  } else {
    lines.push({ level: 'warn', text: 'certificate: none yet (sites on HTTP)' });
  }
  if (c.tls?.lastError) {
    lines.push({
      level: 'warn',
      text: `  last ACME attempt ${ago(c.tls.lastAttempt, now)} failed: ${c.tls.lastError}${c.tls.nextAttempt ? `; next ${c.tls.nextAttempt}` : ''}`,
    });
  }
  return lines;
}
