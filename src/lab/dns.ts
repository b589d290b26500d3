/**
 * The lab's authoritative DNS: its own pdns_server (sqlite backend) on <host>:53, with the HTTP
 * API on <host>:8081. The lab zone and its records are made through the API, like any user would.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx';
import { PowerDnsProvider } from '../dns/powerdns.ts';
import { ShoestringError } from '../errors.ts';
import { assertBridge } from './network.ts';
import { logFile, paths, pidFile } from './paths.ts';
import { isAlive, readPid, startDaemon } from './procs.ts';
import { waitForPort } from './wait.ts';

export const PDNS_API_PORT = 8081;
const SCHEMA = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';

export function pdnsApiUrl(hostAddress: string): string {
  return `http://${hostAddress}:${PDNS_API_PORT}`;
}

function config(hostAddress: string, subnet: string, domain: string, apiKey: string): string {
  return [
    '# The lab DNS (written by scripts/lab.ts)',
    'launch=gsqlite3',
    `gsqlite3-database=${join(paths.pdns, 'pdns.sqlite3')}`,
    `local-address=${hostAddress}`,
    'local-port=53',
    `socket-dir=${paths.pdns}`,
    'guardian=no',
    'daemon=no',
    'disable-syslog=yes',
    'security-poll-suffix=',
    'api=yes',
    `api-key=${apiKey}`,
    'webserver=yes',
    `webserver-address=${hostAddress}`,
    `webserver-port=${PDNS_API_PORT}`,
    `webserver-allow-from=127.0.0.1,${subnet}`,
    `default-soa-content=ns1.${domain}. hostmaster.${domain}. 0 10800 3600 604800 60`,
    // A lab changes records all the time: answer from the database, never from a stale cache.
    'cache-ttl=0',
    'negquery-cache-ttl=0',
    'query-cache-ttl=0',
    '',
  ].join('\n');
}

export function pdnsPid(): number | undefined {
  const pid = readPid(pidFile('pdns'));
  return isAlive(pid, paths.pdns) ? pid : undefined;
}

export function labDnsProvider(
  hostAddress: string,
  domain: string,
  apiKey: string,
): PowerDnsProvider {
  return new PowerDnsProvider({
    apiUrl: pdnsApiUrl(hostAddress),
    apiKey,
    zone: domain,
    beforeRequest: () => assertBridge(hostAddress),
  });
}

async function waitForApi(dns: PowerDnsProvider, hostAddress: string): Promise<void> {
  const until = Date.now() + 20_000;
  let last: unknown;
  while (Date.now() < until) {
    await assertBridge(hostAddress);
    try {
      await dns.zoneExists();
      return;
    } catch (e) {
      last = e;
      if (pdnsPid() === undefined) break;
      await sleep(100);
    }
  }
  throw new ShoestringError(`the lab DNS API did not answer (${String(last)})`, {
    hint: `see ${logFile('pdns')}`,
  });
}

export async function ensureDns(
  hostAddress: string,
  subnet: string,
  domain: string,
  apiKey: string,
): Promise<PowerDnsProvider> {
  if (pdnsPid() === undefined) {
    mkdirSync(paths.pdns, { recursive: true, mode: 0o700 });
    const db = join(paths.pdns, 'pdns.sqlite3');
    if (!existsSync(db)) await $`sqlite3 ${db} ${`.read ${SCHEMA}`}`;
    writeFileSync(join(paths.pdns, 'pdns.conf'), config(hostAddress, subnet, domain, apiKey), {
      mode: 0o600,
    });
    startDaemon({
      argv: ['pdns_server', `--config-dir=${paths.pdns}`],
      pidFile: pidFile('pdns'),
      logFile: logFile('pdns'),
    });
  }
  await waitForPort('pdns_server', hostAddress, PDNS_API_PORT, () => pdnsPid() !== undefined);
  const dns = labDnsProvider(hostAddress, domain, apiKey);
  await waitForApi(dns, hostAddress);
  await dns.ensureZone([`ns1.${domain}`]);
  if ((await dns.listA(`ns1.${domain}`)).join() !== hostAddress)
    await dns.setA(`ns1.${domain}`, [hostAddress], 60);
  return dns;
}

/** One A record per server (`s1.<domain>` …), made or corrected through the API. */
export async function ensureServerRecords(
  dns: PowerDnsProvider,
  domain: string,
  servers: readonly { name: string; address: string }[],
): Promise<void> {
  for (const s of servers) {
    const fqdn = `${s.name}.${domain}`;
    if ((await dns.listA(fqdn)).join() !== s.address) await dns.setA(fqdn, [s.address], 60);
  }
}
