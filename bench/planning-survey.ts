/**
 * Synthetic servers for bench/planning.ts: what preflight and the probes would print for a
 * fresh server (nothing of ours on it) or a converged one (exactly what the plan wants), made
 * without any server. Pure; nothing here is timed.
 */
import { createHash } from 'node:crypto';
import type { ClusterServer } from '../src/components/types.ts';
import type { Server } from '../src/config/servers.ts';
import { peerUrl, clientUrl } from '../src/etcd/membership.ts';
import { renderWgConf } from '../src/network/wireguard.ts';
import { sectionLine } from '../src/plan/sections.ts';
import type { Step } from '../src/plan/steps/index.ts';
import { sha256 } from '../src/plan/steps/file.ts';
import { AVAILABLE } from '../src/plan/steps/nginx.ts';
import type { HostFacts } from '../src/preflight/probe.ts';
import { targetOf } from '../src/provision/context.ts';

export type Scenario = 'fresh' | 'converged';

/** The servers file: `root@203.0.x.y`, one a line. */
export function serversText(n: number): string {
  const lines = ['# synthetic servers for bench/planning.ts'];
  for (let i = 0; i < n; i++) lines.push(`root@203.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  return `${lines.join('\n')}\n`;
}

export const ENV_TEXT = [
  'DOMAIN=example.com',
  'DATABASE=galera',
  'DNS_PROVIDER=powerdns',
  'PDNS_API_URL=http://127.0.0.1:8081',
  'PDNS_API_KEY=bench-only-key',
  'ACME_EMAIL=ops@example.com',
  // 500 servers do not fit the default /24.
  'PRIVATE_NETWORK=10.88.0.0/16',
  '',
].join('\n');

/** A WireGuard public key (any 32 bytes, base64) derived from the host name. */
export function wgKey(hostname: string): string {
  return createHash('sha256').update(`wg ${hostname}`).digest('base64');
}

const hostnameOf = (i: number) => `s${i + 1}`;

function facts(hostname: string, address: string, provisioned: boolean): HostFacts {
  return {
    hostname,
    osId: 'debian',
    osVersion: '12',
    osPretty: 'Debian GNU/Linux 12 (bookworm)',
    addresses: [address],
    memMiB: 4096,
    cpus: 2,
    diskFreeMiB: 40000,
    epoch: 0,
    container: 'none',
    systemd: true,
    listening: new Map([[22, 'sshd']]),
    provisioned,
  };
}

const FAKE_PEM = (what: string) =>
  `-----BEGIN ${what}-----\n${createHash('sha256').update(what).digest('base64')}\n-----END ${what}-----\n`;
export const CA = { cert: FAKE_PEM('CERTIFICATE'), key: FAKE_PEM('PRIVATE KEY') };
const b64 = (t: string) => Buffer.from(t).toString('base64');

/** The answers of a converged cluster's etcd survey: 5 voters, the others proxies. */
function etcdSurvey(self: number, voters: readonly { name: string; address: string }[]): string {
  const member = self < voters.length;
  const members = JSON.stringify({
    members: voters.map((v, i) => ({
      ID: String(1000 + i),
      name: v.name,
      peerURLs: [peerUrl(v.address)],
      clientURLs: [clientUrl(v.address)],
    })),
  });
  const status = { header: { member_id: String(1000 + (member ? self : 0)) }, leader: '1000' };
  return [
    sectionLine('ca_crt'),
    b64(CA.cert),
    sectionLine('ca_key'),
    b64(CA.key),
    sectionLine('initialized'),
    member ? 'yes' : 'no',
    sectionLine('role'),
    member ? 'member' : 'proxy',
    sectionLine('status'),
    JSON.stringify(member ? status : [{ Endpoint: 'x', Status: status }]),
    sectionLine('members'),
    members,
  ].join('\n');
}

const GALERA_SYNCED = [
  sectionLine('galera_installed'),
  'yes',
  sectionLine('galera_configured'),
  'yes',
  sectionLine('galera_active'),
  'active',
  sectionLine('galera_grastate'),
  'uuid: d77881e8-ee27-11f1-9237-a265a30033e9',
  'seqno: -1',
  sectionLine('galera_status'),
  'wsrep_cluster_status\tPrimary',
  'wsrep_local_state_comment\tSynced',
  'wsrep_cluster_size\t3',
  'wsrep_cluster_state_uuid\td77881e8-ee27-11f1-9237-a265a30033e9',
  'wsrep_last_committed\t42',
  'wsrep_ready\tON',
].join('\n');

/**
 * What preflight (and the components' surveys) would have gathered from each server: host names
 * s1…sN, public addresses as in servers.txt, and for a converged cluster the WireGuard keys and
 * configuration, etcd (5 voters, the rest proxies) and 3 Synced database members.
 */
export function preflightAnswers(
  servers: readonly Server[],
  scenario: Scenario,
  cidr: string,
  port: number,
  dbMembers: number,
): Omit<ClusterServer, 'private'>[] {
  const converged = scenario === 'converged';
  // Converged: the addresses the first run gave (the lowest free ones, in order).
  const privateOf = (i: number) => `10.88.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`;
  const voters = servers
    .slice(0, 5)
    .map((_, i) => ({ name: hostnameOf(i), address: privateOf(i) }));
  return servers.map((server, i) => {
    const hostname = hostnameOf(i);
    const surveys = new Map<string, string>([['firewall', '22']]);
    if (converged) {
      const peers = servers
        .map((s, j) => ({
          name: hostnameOf(j),
          publicKey: wgKey(hostnameOf(j)),
          address: s.host,
          private: privateOf(j),
        }))
        .filter((_, j) => j !== i);
      const conf = renderWgConf({ address: privateOf(i), cidr, port, peers });
      // As `cat` prints it: the file ends with its newline, the next marker follows.
      surveys.set(
        'network',
        `${sectionLine('wg_public')}\n${wgKey(hostname)}\n${sectionLine('wg_conf')}\n${conf}${sectionLine('wg_kernel')}\nyes\n`,
      );
      surveys.set('etcd', etcdSurvey(i, voters));
      if (i < dbMembers) surveys.set('database', GALERA_SYNCED);
    } else {
      surveys.set('network', [sectionLine('wg_kernel'), 'yes'].join('\n'));
    }
    return {
      server,
      target: targetOf(server),
      facts: facts(hostname, server.host, converged),
      address: server.host,
      hostname,
      surveys,
    };
  });
}

/** The canned answers of prepare's own queries (a fresh server's new key, the new CA). */
export function queryAnswer(on: ClusterServer, what: string): string {
  if (what === 'WireGuard key') return `${wgKey(on.hostname)}\n`;
  if (what === 'read the etcd CA')
    return [sectionLine('ca_crt'), b64(CA.cert), sectionLine('ca_key'), b64(CA.key)].join('\n');
  return '';
}

const mode = (m: string) => m.replace(/^0+(?=\d)/, '');

/** The agent's bundle is the same text for every server: hashed once here too. */
const sums = new Map<string, string>();
function sum(text: string): string {
  if (text.length < 256 * 1024) return sha256(text);
  let known = sums.get(text);
  if (known === undefined) {
    known = sha256(text);
    sums.set(text, known);
  }
  return known;
}

/** What one step's probe prints on a server that has nothing of ours. */
function freshLines(step: Step): string[] {
  switch (step.kind) {
    case 'file':
    case 'directory':
    case 'absent':
      return ['MISSING'];
    case 'symlink':
    case 'nginx-site':
      return ['missing'];
    case 'service':
    case 'masked':
    case 'unit-absent':
      return ['enabled ', 'active inactive'];
    case 'daemon-reload':
      return step.units.flatMap((u) => [`unit ${u.unit}`, 'need no', 'loaded  ']);
    case 'command':
      return ['TODO'];
    case 'packages':
    case 'apache-modules':
    case 'apache-site':
      return [];
  }
}

/** What one step's probe prints on a server that already matches it. */
function convergedLines(step: Step): string[] {
  switch (step.kind) {
    case 'file':
      return [`${mode(step.mode)} ${step.owner} ${step.group}`, sum(step.content)];
    case 'directory':
      return [`directory|${mode(step.mode)} ${step.owner} ${step.group}`];
    case 'absent':
      return ['MISSING'];
    case 'symlink':
      return [`link ${step.target}`];
    case 'nginx-site':
      return step.enabled ? [`link ${AVAILABLE}/${step.name}`] : ['missing'];
    case 'service': {
      const running = step.running ?? step.enabled;
      return [
        `enabled ${step.enabled ? 'enabled' : 'disabled'}`,
        `active ${running ? 'active' : 'inactive'}`,
      ];
    }
    case 'masked':
      return step.masked
        ? ['enabled masked', 'active inactive']
        : ['enabled enabled', 'active active'];
    case 'unit-absent':
      return ['active inactive', 'enabled '];
    case 'daemon-reload':
      return step.units.flatMap((u) => [
        `unit ${u.unit}`,
        'need no',
        `loaded ${u.files.join(' ')}`,
        ...u.files.map((f) => `present ${f}`),
      ]);
    case 'command':
      return ['DONE'];
    case 'packages':
      return step.present ? step.names.map((n) => `${n} ii `) : [];
    case 'apache-modules':
      return [...step.names];
    case 'apache-site':
      return step.enabled ? [step.name] : [];
  }
}

/** The output of probeScript(phases) on such a server. */
export function probeOutput(phases: readonly (readonly Step[])[], scenario: Scenario): string {
  const lines = scenario === 'fresh' ? freshLines : convergedLines;
  const out: string[] = [];
  phases.forEach((steps, i) =>
    steps.forEach((step, j) => out.push(sectionLine(`step:${i}:${j}`), ...lines(step))),
  );
  return `${out.join('\n')}\n`;
}
