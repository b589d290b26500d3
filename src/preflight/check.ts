/** Preflight checks (pure): host facts → problems (refuse) and warnings (go on). */
import type { Database } from '../config/env.ts';
import { TIDB_PORTS, type TidbRole } from '../database/tidb-topology.ts';
import type { HostFacts } from './probe.ts';

export interface PreflightInput {
  readonly host: string;
  readonly facts: HostFacts;
  /** Local clock, seconds since the epoch, when the probe returned. */
  readonly localEpoch: number;
  readonly database: Database;
  readonly webServer: 'apache' | 'nginx';
  /**
   * DATABASE=tidb: the TiDB roles this server will run (`tidbRolesOf` its db-servers.txt
   * index; `[]` for a server that is no db server: then only TiDB's ports are checked).
   * Default: PD, TiKV and TiDB, as on the first three db servers (the most demanding).
   */
  readonly tidbRoles?: readonly TidbRole[];
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
    const tidb = checkTidbHost(host, f, input.tidbRoles ?? ['pd', 'tikv', 'tidb']);
    problems.push(...tidb.problems);
    warnings.push(...tidb.warnings);
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

/**
 * TiDB's published minimums per role (docs.pingcap.com, "Software and Hardware
 * Recommendations", development and test environments; production asks for more): CPU cores,
 * memory, and disk (data plus log disk, which here are the same disk: PD at least 20 GB each,
 * TiKV 100 GB each, TiDB 30 GB of log). Below them, a warning naming the numbers.
 */
export const TIDB_MINIMUMS: Readonly<
  Record<TidbRole, { name: string; cores: number; memGiB: number; diskGB: number }>
> = {
  pd: { name: 'PD', cores: 4, memGiB: 8, diskGB: 40 },
  tikv: { name: 'TiKV', cores: 8, memGiB: 32, diskGB: 200 },
  tidb: { name: 'TiDB', cores: 8, memGiB: 16, diskGB: 30 },
};

/**
 * Our floor per role, in MiB of memory: below the sum for a server's roles, TiDB is refused.
 * These are not the vendor's numbers but what the processes take to start and stay up next to
 * etcd and the web stack (the memory check above covers those): PD embeds an etcd and its
 * scheduler (1 GiB); TiKV sizes its RocksDB block cache at about 45% of the server's memory by
 * default, plus write buffers and Raft (2 GiB); TiDB's SQL layer with its caches (1 GiB). So a
 * server with all three needs 4 GiB, a TiDB-only one 1 GiB. Below that the OOM killer, not TiDB,
 * decides what runs.
 */
export const TIDB_FLOOR_MIB: Readonly<Record<TidbRole, number>> = {
  pd: 1024,
  tikv: 2048,
  tidb: 1024,
};

/** MemTotal reads a few % below the memory a server is sold with (kernel and firmware). */
const MEM_SLACK = 0.9;

const TIDB_PORT_OWNERS: readonly [number, string, readonly string[]][] = [
  [TIDB_PORTS.sql, 'TiDB SQL', ['tidb-server']],
  [TIDB_PORTS.status, 'TiDB status', ['tidb-server']],
  [TIDB_PORTS.pdClient, 'PD client', ['pd-server']],
  [TIDB_PORTS.pdPeer, 'PD peer', ['pd-server']],
  [TIDB_PORTS.tikv, 'TiKV', ['tikv-server']],
  [TIDB_PORTS.tikvStatus, 'TiKV status', ['tikv-server']],
  [TIDB_PORTS.nodeExporter, "TiUP's node_exporter", ['node_exporter']],
  // The kernel cuts process names to 15 characters.
  [TIDB_PORTS.blackboxExporter, "TiUP's blackbox_exporter", ['blackbox_export']],
];

function gib(mib: number): string {
  return String(Math.round((mib / 1024) * 10) / 10);
}

/** DATABASE=tidb on one server running `roles`: our floor refuses, the vendor's minimums warn. */
export function checkTidbHost(
  host: string,
  f: HostFacts,
  roles: readonly TidbRole[],
): PreflightVerdict {
  const problems: string[] = [];
  const warnings: string[] = [];
  const names = roles.map((r) => TIDB_MINIMUMS[r].name).join(', ');
  const floor = roles.reduce((sum, r) => sum + TIDB_FLOOR_MIB[r], 0);
  if (f.memMiB < floor * MEM_SLACK)
    problems.push(
      `${host}: ${gib(f.memMiB)} GiB of memory is too little for TiDB's ${names} on one server: at least ${gib(floor)} GiB (DATABASE=galera suits small servers)`,
    );
  const below = roles.filter((r) => {
    const m = TIDB_MINIMUMS[r];
    return f.cpus < m.cores || f.memMiB < m.memGiB * 1024 * MEM_SLACK;
  });
  if (below.length > 0) {
    const mins = below
      .map((r) => {
        const m = TIDB_MINIMUMS[r];
        return `${m.name}'s vendor minimum is ${m.cores} cores and ${m.memGiB} GiB`;
      })
      .join(', ');
    warnings.push(
      `${host}: runs ${names} with ${f.cpus} cores and ${gib(f.memMiB)} GiB; ${mins} (docs.pingcap.com, development and test; more in production): expect poor performance (DATABASE=galera suits small servers)`,
    );
  }
  const diskGB = roles.reduce((sum, r) => sum + TIDB_MINIMUMS[r].diskGB, 0);
  const freeGB = Math.floor((f.diskFreeMiB * 1024 * 1024) / 1e9);
  if (freeGB < diskGB)
    warnings.push(
      `${host}: ${freeGB} GB free on /; TiDB's docs ask for ${diskGB} GB for ${names} (data and log disks)`,
    );
  for (const [port, what, owners] of TIDB_PORT_OWNERS) {
    const holder = f.listening.get(port);
    if (holder && !owners.includes(holder) && holder !== 'unknown')
      problems.push(
        `${host}: port ${port} (${what}) is held by ${holder}; stop it or free the port`,
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
