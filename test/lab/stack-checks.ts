/**
 * Checks shared by the stack suites (03, 04, 05): requests through each server's own front
 * (real sockets from the host, the lab bridge checked first), etcd membership and leadership
 * as root's etcdctl reports it (TLS, with root's client certificate, no flags), and
 * am-i-the-leader's answers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { parseEtcdctlStatus } from '../../src/etcd/status.ts';
import { pebbleRoot } from '../../src/lab/pebble.ts';
import { guardAddress } from '../../src/watch/guard.ts';
import { requestOnce } from '../../src/watch/request.ts';
import type { RequestResult } from '../../src/watch/summary.ts';
import { on } from './helpers.ts';
import { events, runCommand, type CommandResult } from './provision-helpers.ts';

export const DOMAIN = (): string => parse(readFileSync('.lab/.env'))['DOMAIN'] ?? 'shoestring.test';

export function labAddresses(): string[] {
  return readFileSync('.lab/servers.txt', 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** A servers file listing `addresses`, named after `name`. */
export function serversFileOf(addresses: readonly string[], name: string): string {
  const file = join(tmpdir(), `shoestring-servers-${name}.txt`);
  writeFileSync(file, addresses.join('\n') + '\n');
  return file;
}

/** A servers file with the first n lab servers. */
export function serversFile(n: number): string {
  return serversFileOf(labAddresses().slice(0, n), String(n));
}

/** A copy of the lab's env file with some keys changed. */
export function envFile(changes: Record<string, string>): string {
  const env = { ...parse(readFileSync('.lab/.env')), ...changes };
  const file = join(tmpdir(), `shoestring-env-${Object.values(changes).join('-')}`);
  writeFileSync(
    file,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  return file;
}

export function provision(args: readonly string[]): CommandResult {
  const t0 = Date.now();
  const res = runCommand('provision.ts', ['--json', ...args]);
  // DEBUG=1: how long each provision took, and its slowest waits (to find where a suite's time goes).
  if (process.env['DEBUG']) {
    const lines = res.stdout.split('\n').filter((l) => l.startsWith('{'));
    const times = lines.map(
      (l) =>
        JSON.parse(l) as {
          time: string;
          type: string;
          host?: string;
          message?: string;
          title?: string;
        },
    );
    const gaps = times
      .slice(1)
      .map((e, i) => ({ gap: Date.parse(e.time) - Date.parse(times[i]?.time ?? e.time), e }));
    gaps.sort((a, b) => b.gap - a.gap);
    console.log(
      `  provision ${args.join(' ')}: ${((Date.now() - t0) / 1000).toFixed(1)} s; slowest steps before: ${gaps
        .slice(0, 4)
        .map((g) =>
          `${(g.gap / 1000).toFixed(1)} s → ${g.e.type} ${g.e.host ?? ''} ${g.e.title ?? g.e.message ?? ''}`.slice(
            0,
            140,
          ),
        )
        .join(' | ')}`,
    );
  }
  return res;
}

/** "host: summary" of every change a --json provision reported. */
export function changeList(res: CommandResult): string[] {
  return events(res.stdout)
    .filter((e) => e.type === 'change')
    .map((e) => `${String(e['host'])}: ${String(e['summary'])}`);
}

let root: Promise<Buffer> | undefined;

/** The lab ACME CA's root (it signs the sites' certificate), fetched once per run. */
export function labCa(): Promise<Buffer> {
  const env = parse(readFileSync('.lab/.env'));
  root ??= pebbleRoot(env['LAB_DNS'] ?? '').then((pem) => Buffer.from(pem));
  return root;
}

/** After the lab was re-created (`down`, `up`): its ACME CA has a new root. */
export function forgetLabCa(): void {
  root = undefined;
}

/** The lab's sites are on HTTPS (its settings have a DNS provider and TLS on). */
export function labTlsOn(): boolean {
  const env = parse(readFileSync('.lab/.env'));
  return (env['DNS_PROVIDER'] ?? 'none') !== 'none' && env['TLS'] !== 'off';
}

/**
 * GET http://<host>/ through the front at `address`; when it redirects to HTTPS (the cluster
 * certificate is installed), the same over HTTPS at the same address, checked against the lab
 * CA's root.
 */
export async function get(address: string, host: string, path = '/'): Promise<RequestResult> {
  await guardAddress(address);
  const spec = { name: host, path, connectTimeoutMs: 2000, timeoutMs: 8000 };
  const plain = await requestOnce({ ...spec, https: false, ca: undefined }, [address]);
  if (plain.code !== 301) return plain;
  return requestOnce({ ...spec, https: true, ca: await labCa() }, [address]);
}

/** The status and body, with curl on the host (after get() asserted the lab bridge). */
export async function curlBody(
  address: string,
  host: string,
  path = '/',
): Promise<{ code: string; body: string }> {
  await guardAddress(address);
  const ca = join(tmpdir(), 'shoestring-lab-acme-root.pem');
  writeFileSync(ca, await labCa());
  // Follows the redirect to HTTPS at the same address, as a browser would.
  const args = ['-s', '-L', '-m', '5', '-w', '\n%{http_code}', '--cacert', ca];
  const resolve = ['--resolve', `${host}:80:${address}`, '--resolve', `${host}:443:${address}`];
  const out = spawnSync('curl', [...args, ...resolve, `http://${host}${path}`], {
    encoding: 'utf8',
    timeout: 15_000,
  }).stdout;
  const i = out.lastIndexOf('\n');
  return { code: out.slice(i + 1).trim(), body: out.slice(0, i) };
}

/** Who served `n` requests for `host` through the front at `address`. */
export async function servedBy(
  address: string,
  host: string,
  n: number,
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await get(address, host);
    const who = r.code === 200 ? (r.servedBy ?? '?') : `HTTP ${r.code}`;
    seen.set(who, (seen.get(who) ?? 0) + 1);
  }
  return seen;
}

export interface EtcdView {
  readonly address: string;
  readonly isLeader: boolean;
  readonly memberCount: number;
  readonly leaderId: string;
}

/** On one server: `etcdctl endpoint status -w json` (IDs parsed as exact strings) and the member count. */
export async function etcdView(address: string): Promise<EtcdView> {
  const r = await on(
    address,
    'ETCDCTL_API=3 etcdctl endpoint status -w json; echo; echo @@; ETCDCTL_API=3 etcdctl member list | wc -l',
  );
  const [statusText = '', countText = ''] = r.out.split('@@');
  const [s] = parseEtcdctlStatus(statusText.trim());
  if (!s) throw new Error(`${address}: etcdctl endpoint status gave: ${r.out}`);
  return {
    address,
    isLeader: s.leaderId === s.memberId,
    memberCount: Number(countText.trim()),
    leaderId: s.leaderId,
  };
}

/**
 * The host part of the client URL a member advertises (its private address): etcd's proxies
 * and `etcdctl --cluster` reach it there.
 */
export async function etcdPrivateAddress(address: string): Promise<string> {
  const r = await on(
    address,
    "sed -n 's#^ETCD_ADVERTISE_CLIENT_URLS=https://\\(.*\\):2379$#\\1#p' /etc/default/etcd",
  );
  if (r.code !== 0 || r.out === '') throw new Error(`${address}: no https client URL: ${r.out}`);
  return r.out;
}

/** am-i-the-leader from the operator's machine (over SSH) and on the server itself. */
export async function leaderAnswers(
  address: string,
  args: readonly string[],
): Promise<{ operator: number | null; onServer: number; operatorOut: string }> {
  const op = runCommand('am-i-the-leader.ts', [...args, address], 60_000);
  const local = await on(address, '/usr/local/bin/am-i-the-leader');
  return { operator: op.status, onServer: local.code, operatorOut: op.stdout.trim() };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A server's private address, as its WireGuard configuration has it. */
export async function privateOf(address: string): Promise<string> {
  const r = await on(
    address,
    "sed -n 's/^Address *= *\\([0-9.]*\\).*/\\1/p' /etc/wireguard/wg0.conf",
  );
  return r.out.trim();
}
