/**
 * After a provision with TLS=acme: is the cluster's certificate installed on every server? The
 * agent's duty holder obtains it; provision waits a little for it and then says plainly where
 * things are (sites stay on HTTP until it is there).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KEYS } from '../agent/keys.ts';
import type { ClusterContext, ClusterServer } from '../components/types.ts';
import { ETCDCTL } from '../etcd/remote.ts';
import type { Reporter } from '../plan/events.ts';
import { q } from '../ssh/quote.ts';

const ASK = '--dial-timeout=2s --command-timeout=5s';
/** How long provision waits for a first certificate before it says why sites are on HTTP. */
export const FIRST_CERTIFICATE_WAIT_S = 120;

type Query = (on: ClusterServer, script: string, what: string) => Promise<string>;

export interface TlsView {
  readonly serial: string | undefined;
  readonly notAfter: string | undefined;
  /** host name → serial installed there. */
  readonly installed: ReadonlyMap<string, string>;
  readonly lastError: string | undefined;
  readonly holder: string | undefined;
}

/** Shell printing the certificate's summary, what each server installed, status and holder. */
export const TLS_VIEW_SCRIPT = [
  `${ETCDCTL} ${ASK} get --print-value-only ${q(KEYS.certificate)} 2>/dev/null | python3 -c 'import json,sys
try:
  c=json.load(sys.stdin); print(c["serial"], c["notAfter"])
except Exception: print("-")'`,
  `echo '--'`,
  `${ETCDCTL} ${ASK} get --prefix ${q(KEYS.installedPrefix)} 2>/dev/null || true`,
  `echo '--'`,
  `${ETCDCTL} ${ASK} get --print-value-only ${q(KEYS.tlsStatus)} 2>/dev/null || true`,
  `echo '--'`,
  `${ETCDCTL} ${ASK} get --print-value-only ${q(KEYS.holder)} 2>/dev/null || true`,
].join('\n');

/** Pure: TLS_VIEW_SCRIPT's output → the view. */
export function parseTlsView(out: string): TlsView {
  const [cert = '', installedText = '', statusText = '', holderText = ''] = out.split('\n--\n');
  const [serial, notAfter] = cert.trim() === '-' ? [] : cert.trim().split(' ');
  const installed = new Map<string, string>();
  const lines = installedText.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const key = lines[i] ?? '';
    try {
      const v = JSON.parse(lines[i + 1] ?? '') as { serial?: string };
      if (v.serial) installed.set(key.slice(KEYS.installedPrefix.length), v.serial);
    } catch {
      // skip
    }
  }
  const json = <T>(text: string): T | undefined => {
    try {
      return JSON.parse(text.trim()) as T;
    } catch {
      return undefined;
    }
  };
  return {
    serial: serial || undefined,
    notAfter: notAfter || undefined,
    installed,
    lastError: json<{ lastError?: string }>(statusText)?.lastError ?? undefined,
    holder: json<{ host?: string }>(holderText)?.host,
  };
}

async function view(ctx: ClusterContext, query: Query): Promise<TlsView | undefined> {
  for (const s of ctx.servers) {
    try {
      return parseTlsView(await query(s, TLS_VIEW_SCRIPT, 'read TLS state'));
    } catch {
      // next server
    }
  }
  return undefined;
}

export async function reportCertificate(
  ctx: ClusterContext,
  query: Query,
  reporter: Reporter,
  waitSeconds = FIRST_CERTIFICATE_WAIT_S,
): Promise<void> {
  if (!ctx.config.acme) return;
  const say = (type: 'info' | 'warn', message: string): void =>
    reporter.event({ type, host: 'tls', message });
  const until = Date.now() + waitSeconds * 1000;
  let v = await view(ctx, query);
  let waited = false;
  for (;;) {
    const serial = v?.serial;
    const missing = ctx.servers.filter(
      (s) => serial === undefined || v?.installed.get(s.hostname) !== serial,
    );
    if (serial !== undefined && missing.length === 0) {
      say(
        'info',
        `certificate ${serial} (valid until ${v?.notAfter}) installed on every server: HTTPS on 443`,
      );
      return;
    }
    if (Date.now() > until) {
      const why =
        serial === undefined
          ? `no certificate yet${v?.holder ? `: the agent on ${v.holder} is requesting one` : ': no agent holds the duty yet'}${v?.lastError ? ` (last error: ${v.lastError})` : ''}`
          : `certificate ${serial} not installed yet on ${missing.map((s) => s.server.spec).join(', ')}`;
      say(
        'warn',
        `${why}; sites stay on HTTP until it is. Watch: journalctl -u shoestring-agent (on a server), scripts/status.ts`,
      );
      return;
    }
    if (!waited) {
      say(
        'info',
        `waiting up to ${waitSeconds} s for the cluster certificate (the agent obtains it by ACME DNS-01)`,
      );
      waited = true;
    }
    await sleep(3000);
    v = await view(ctx, query);
  }
}
