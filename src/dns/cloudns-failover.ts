/**
 * ClouDNS's own failover monitoring, per A record (so one check per round-robin member): ClouDNS
 * fetches https://<main_ip>:<port><path> with Host <host> every check period; when it fails the
 * record is deactivated (down_event_handler=1) and reactivated when it answers again
 * (up_event_handler=1). A paid feature with a per-account quota of checks: the caller decides
 * whether to use it. No backup IP is sent: the round robin's other records are the backup.
 */
import { ClouDnsFailure, isAccountFailure, type ClouDnsProvider } from './cloudns.ts';

export interface FailoverCheck {
  /** The site name the check asks for (Host header and TLS name): DOMAIN. */
  readonly host: string;
  /** HTTPS (default) or plain HTTP. */
  readonly https?: boolean;
  /** Default 443 for HTTPS, 80 for HTTP. */
  readonly port?: number;
  /** Default /healthz. */
  readonly path?: string;
  /** Seconds between checks: 60 (default), 120, 300, 600, 900, 1200, 1800 or 3600. */
  readonly checkPeriod?: number;
}

/** What failover-settings.json says of one record's check. */
export interface FailoverState {
  readonly checkType: number;
  /** The last check's verdict. */
  readonly state: 'up' | 'down' | 'unknown';
  readonly mainIp: string;
  readonly downEventHandler: number;
  readonly upEventHandler: number;
  /** The check's own settings (host, port, path, …) as ClouDNS lists them. */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface FailoverResult {
  readonly recordId: string;
  readonly address: string;
  readonly action: 'activated' | 'unchanged' | 'replaced';
}

export const CHECK_HTTP = 4;
export const CHECK_HTTPS = 5;
const DEACTIVATE_RECORD = 1;
const REACTIVATE_MAIN_IP = 1;

/** The form fields of failover-activate.json for one record (pure). */
export function failoverFields(
  zone: string,
  recordId: string,
  mainIp: string,
  check: FailoverCheck,
): Record<string, string> {
  const https = check.https ?? true;
  return {
    'domain-name': zone,
    'record-id': recordId,
    check_type: String(https ? CHECK_HTTPS : CHECK_HTTP),
    down_event_handler: String(DEACTIVATE_RECORD),
    up_event_handler: String(REACTIVATE_MAIN_IP),
    main_ip: mainIp,
    host: check.host,
    port: String(check.port ?? (https ? 443 : 80)),
    path: check.path ?? '/healthz',
    check_period: String(check.checkPeriod ?? 60),
  };
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
}

/** Parses failover-settings.json's reply (numbers may arrive as strings). */
export function parseFailoverState(reply: unknown): FailoverState | undefined {
  if (reply === null || typeof reply !== 'object' || Array.isArray(reply)) return undefined;
  const r = reply as Record<string, unknown>;
  if (r['check_type'] === undefined) return undefined;
  const status = num(r['status']);
  const settings = r['check_settings'];
  return {
    checkType: num(r['check_type']),
    state: status === 1 ? 'up' : status === 0 ? 'down' : 'unknown',
    mainIp: typeof r['main_ip'] === 'string' ? r['main_ip'] : '',
    downEventHandler: num(r['down_event_handler']),
    upEventHandler: num(r['up_event_handler']),
    settings:
      settings !== null && typeof settings === 'object' && !Array.isArray(settings)
        ? (settings as Record<string, unknown>)
        : {},
  };
}

/**
 * The failover check of one record, or undefined when none is active (ClouDNS then answers
 * Failed; a failure about the credentials or the zone is still thrown).
 */
export async function failoverSettings(
  dns: ClouDnsProvider,
  recordId: string,
): Promise<FailoverState | undefined> {
  try {
    const reply = await dns.call(
      'failover-settings',
      { 'domain-name': dns.zone, 'record-id': recordId },
      true,
    );
    return parseFailoverState(reply);
  } catch (err) {
    if (err instanceof ClouDnsFailure && !isAccountFailure(err.description)) return undefined;
    throw err;
  }
}

/** Stops the failover check of one record (the record itself stays). */
export async function deactivateFailover(dns: ClouDnsProvider, recordId: string): Promise<void> {
  await dns.call('failover-deactivate', { 'domain-name': dns.zone, 'record-id': recordId });
}

function matches(state: FailoverState, fields: Record<string, string>): boolean {
  const s = state.settings;
  const same = (key: string): boolean => s[key] === undefined || String(s[key]) === fields[key];
  return (
    String(state.checkType) === fields['check_type'] &&
    state.mainIp === fields['main_ip'] &&
    String(state.downEventHandler) === fields['down_event_handler'] &&
    String(state.upEventHandler) === fields['up_event_handler'] &&
    ['host', 'port', 'path'].every(same)
  );
}

/**
 * Makes every A record of `fqdn` carry this check: activates it where there is none, replaces
 * it (deactivate, activate) where it differs, leaves it where it matches.
 */
export async function setupFailover(
  dns: ClouDnsProvider,
  fqdn: string,
  check: FailoverCheck,
): Promise<FailoverResult[]> {
  const results: FailoverResult[] = [];
  for (const r of await dns.records(dns.hostOf(fqdn), 'A')) {
    const fields = failoverFields(dns.zone, r.id, r.record, check);
    const state = await failoverSettings(dns, r.id);
    let action: FailoverResult['action'] = 'activated';
    if (state && matches(state, fields)) action = 'unchanged';
    else if (state) {
      await deactivateFailover(dns, r.id);
      action = 'replaced';
    }
    if (action !== 'unchanged') await dns.call('failover-activate', fields);
    results.push({ recordId: r.id, address: r.record, action });
  }
  return results;
}
