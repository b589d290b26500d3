/** Preflight checks (pure): host facts → problems (refuse) and warnings (go on). */
import type { Database } from '../config/env.ts';
import type { HostFacts } from './probe.ts';

export interface PreflightInput {
  readonly host: string;
  readonly facts: HostFacts;
  /** Local clock, seconds since the epoch, when the probe returned. */
  readonly localEpoch: number;
  readonly database: Database;
  readonly webServer: 'apache' | 'nginx';
}

export interface PreflightVerdict {
  readonly problems: string[];
  readonly warnings: string[];
}

const SUPPORTED: Readonly<Record<string, readonly string[]>> = {
  debian: ['12', '13'],
  ubuntu: ['22.04', '24.04'],
};

/** Ports Shoestring's services bind, with the processes allowed to hold them. */
const PORTS: readonly [number, string, readonly string[]][] = [
  [80, 'web front', ['apache2', 'nginx']],
  [443, 'web front (TLS)', ['apache2', 'nginx']],
  [2379, 'etcd client', ['etcd']],
  [2380, 'etcd peer', ['etcd']],
  [2381, 'etcd metrics', ['etcd']],
  [3017, 'uWSGI fastrouter', ['uwsgi', 'uwsgi-core']],
];

export function checkHost(input: PreflightInput): PreflightVerdict {
  const { facts: f, host } = input;
  const problems: string[] = [];
  const warnings: string[] = [];
  const versions = SUPPORTED[f.osId];
  if (!versions)
    problems.push(`${host}: ${f.osPretty} is not supported (Debian 12/13 or Ubuntu 22.04/24.04)`);
  else if (!versions.includes(f.osVersion))
    warnings.push(
      `${host}: ${f.osPretty} is untested; supported: ${f.osId} ${versions.join(', ')}`,
    );
  if (!f.systemd)
    problems.push(
      `${host}: systemd is not running as init; Shoestring manages services with systemd`,
    );

  const minMem = input.database === 'galera' ? 900 : 450;
  if (f.memMiB < minMem)
    problems.push(
      `${host}: ${f.memMiB} MiB of memory; at least ${minMem} MiB are needed for the chosen components`,
    );
  if (input.database === 'tidb') {
    if (f.memMiB < 16000 || f.cpus < 8) {
      warnings.push(
        `${host}: TiDB's vendor minimum is 8 cores and 16 GiB per server; this one has ${f.cpus} and ${Math.round(f.memMiB / 1024)} GiB: expect poor performance (DATABASE=galera suits small servers)`,
      );
    }
  }
  if (f.diskFreeMiB < 1024)
    problems.push(`${host}: only ${f.diskFreeMiB} MiB free on /; at least 1 GiB is needed`);

  const skew = Math.abs(f.epoch - input.localEpoch);
  if (skew > 30)
    problems.push(
      `${host}: clock is ${skew} s off this machine's; fix time sync (etcd and TLS need sane clocks)`,
    );
  else if (skew > 5) warnings.push(`${host}: clock is ${skew} s off this machine's`);

  for (const [port, what, owners] of PORTS) {
    const holder = f.listening.get(port);
    if (holder && !owners.includes(holder) && holder !== 'unknown') {
      problems.push(
        `${host}: port ${port} (${what}) is held by ${holder}; stop it or free the port`,
      );
    }
  }
  const otherFront = input.webServer === 'apache' ? 'nginx' : 'apache2';
  if (f.listening.get(80) === otherFront) {
    warnings.push(
      `${host}: ${otherFront} holds port 80 but WEB_SERVER=${input.webServer}; it will be stopped and disabled`,
    );
  }
  return { problems, warnings };
}

/** Cluster-wide checks: odd member counts (quorum). */
export function checkCluster(serverCount: number): PreflightVerdict {
  const warnings: string[] = [];
  if (serverCount === 2) {
    warnings.push(
      '2 servers cannot keep a quorum when either fails: etcd stops accepting writes; 3 is the smallest fault-tolerant cluster',
    );
  } else if (serverCount % 2 === 0 && serverCount <= 5) {
    warnings.push(
      `${serverCount} servers: an even member count tolerates no more failures than ${serverCount - 1}; consider an odd number`,
    );
  }
  return { problems: [], warnings };
}
