/**
 * The lab's ACME CA: pebble on <host>:14000 (management :15000), validating DNS-01 against the
 * lab DNS. Its HTTPS listener uses a certificate made here (SAN = the bridge address), which is
 * the CA bundle clients trust for the directory.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx';
import { ShoestringError } from '../errors.ts';
import { assertBridge } from './network.ts';
import { logFile, paths, pidFile } from './paths.ts';
import { isAlive, readPid, startDaemon } from './procs.ts';

export const ACME_PORT = 14000;
export const ACME_MANAGEMENT_PORT = 15000;

export const pebbleCert = join(paths.pebble, 'listener.pem');
const pebbleKey = join(paths.pebble, 'listener.key');

export function acmeDirectoryUrl(hostAddress: string): string {
  return `https://${hostAddress}:${ACME_PORT}/dir`;
}

export function pebblePid(): number | undefined {
  const pid = readPid(pidFile('pebble'));
  return isAlive(pid, paths.pebble) ? pid : undefined;
}

async function ensureListenerCert(hostAddress: string): Promise<void> {
  if (existsSync(pebbleCert) && existsSync(pebbleKey)) return;
  mkdirSync(paths.pebble, { recursive: true, mode: 0o700 });
  await $`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj ${'/CN=Shoestring lab ACME'} -addext ${`subjectAltName=IP:${hostAddress}`} -keyout ${pebbleKey} -out ${pebbleCert}`;
}

/** GET over HTTPS trusting only the pebble listener certificate. */
export async function pebbleGet(
  hostAddress: string,
  port: number,
  path: string,
): Promise<{ status: number; body: string }> {
  await assertBridge(hostAddress);
  const agent = new Agent({ ca: readFileSync(pebbleCert) });
  return new Promise((resolve, reject) => {
    const req = request({ host: hostAddress, port, path, agent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The root that signs the certificates pebble issues (new at every pebble start). */
export async function pebbleRoot(hostAddress: string): Promise<string> {
  const r = await pebbleGet(hostAddress, ACME_MANAGEMENT_PORT, '/roots/0');
  if (r.status !== 200) throw new ShoestringError(`pebble /roots/0 → HTTP ${r.status}`);
  return r.body;
}

export async function ensurePebble(hostAddress: string): Promise<void> {
  if (pebblePid() === undefined) {
    await ensureListenerCert(hostAddress);
    const configFile = join(paths.pebble, 'pebble-config.json');
    writeFileSync(
      configFile,
      JSON.stringify(
        {
          pebble: {
            listenAddress: `${hostAddress}:${ACME_PORT}`,
            managementListenAddress: `${hostAddress}:${ACME_MANAGEMENT_PORT}`,
            certificate: pebbleCert,
            privateKey: pebbleKey,
            httpPort: 5002,
            tlsPort: 5001,
            ocspResponderURL: '',
            externalAccountBindingRequired: false,
          },
        },
        null,
        2,
      ),
    );
    startDaemon({
      argv: ['pebble', '-config', configFile, '-dnsserver', `${hostAddress}:53`],
      pidFile: pidFile('pebble'),
      logFile: logFile('pebble'),
      env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
    });
  }
  const until = Date.now() + 20_000;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const r = await pebbleGet(hostAddress, ACME_PORT, '/dir');
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e;
    }
    if (pebblePid() === undefined) break;
    await sleep(100);
  }
  throw new ShoestringError(
    `pebble did not answer on ${acmeDirectoryUrl(hostAddress)} (${String(last)})`,
    {
      hint: `see ${logFile('pebble')}`,
    },
  );
}
