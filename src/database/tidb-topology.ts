/**
 * TiDB's topology (pure): which db server runs which TiDB role, and the topology.yaml that
 * `tiup cluster check` and `tiup cluster deploy` read. Roles: PD and TiKV on the first three db
 * servers (3 PD keep a Raft quorum through one failure; TiKV's default of 3 replicas needs 3
 * stores), TiDB on every db server (it is stateless: the local proxy on each server reaches
 * them). No monitoring host unless asked: Prometheus and Grafana would want a server of their
 * own, which a budget cluster does not have.
 *
 * This path is planned and unit-tested only: TiDB's binaries cannot be downloaded on the machines
 * the test suite runs on, so it has never deployed a real cluster.
 */
import { isIPv4 } from 'node:net';
import { clip } from '../config/clip.ts';
import { ConfigError } from '../errors.ts';
import { render } from '../templates.ts';

/**
 * Every port a TiDB cluster listens on, in one place. All of them on each server's private
 * address, except TiUP's two exporters (they have no listen address setting).
 */
export const TIDB_PORTS = {
  /** TiDB's SQL port (MySQL protocol): the local proxy connects here. TiDB's default. */
  sql: 4000,
  /** TiDB's status and metrics (HTTP). TiDB's default. */
  status: 10080,
  /**
   * PD's client port. PD's default is 2379, which etcd already holds on every server's private
   * address: moved next to it.
   */
  pdClient: 2479,
  /** PD's peer port (PD's own Raft). Moved off its default 2380 (etcd's peer port) likewise. */
  pdPeer: 2480,
  /** TiKV's port (TiDB and the other TiKV connect here). TiKV's default. */
  tikv: 20160,
  /** TiKV's status and metrics (HTTP). TiKV's default. */
  tikvStatus: 20180,
  /** node_exporter: TiUP deploys it on every host, monitoring or not (its default). */
  nodeExporter: 9100,
  /** blackbox_exporter: deployed on every host likewise (its default). */
  blackboxExporter: 9115,
} as const;

/** The unix user TiUP creates on every host to run the services. */
export const TIDB_USER = 'tidb';
export const TIDB_DEPLOY_DIR = '/tidb-deploy';
export const TIDB_DATA_DIR = '/tidb-data';

/** PD and TiKV instances; TiDB's HA minimum (PD's Raft quorum, TiKV's 3 replicas). */
export const TIDB_QUORUM = 3;

export type TidbRole = 'pd' | 'tikv' | 'tidb';

/** The roles of the db server at `index` (0-based, in db-servers.txt order). */
export function tidbRolesOf(index: number): readonly TidbRole[] {
  return index < TIDB_QUORUM ? ['pd', 'tikv', 'tidb'] : ['tidb'];
}

export interface TidbTopologyInput {
  readonly clusterName: string;
  /** Who TiUP logs in as (`--user`). */
  readonly sshUser: string;
  readonly sshPort: number;
  /** The db servers in db-servers.txt order; `private` is where everything listens. */
  readonly servers: readonly { readonly hostname: string; readonly private: string }[];
  /** Put Prometheus and Grafana on the last db server (default: no monitoring host). */
  readonly monitoring?: boolean;
}

export interface TidbHost {
  readonly name: string;
  readonly host: string;
}

export interface TidbLayout {
  readonly pd: readonly TidbHost[];
  readonly tikv: readonly TidbHost[];
  readonly tidb: readonly TidbHost[];
  readonly monitoring: TidbHost | undefined;
}

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** Which db server runs what; every problem of the input at once, as a ConfigError. */
export function tidbLayout(input: TidbTopologyInput): TidbLayout {
  const problems: string[] = [];
  const n = input.servers.length;
  if (n < TIDB_QUORUM)
    problems.push(
      `DATABASE=tidb needs at least ${TIDB_QUORUM} db servers, ${n} given: TiDB's HA minimum is 3 PD (a Raft quorum that survives one failure) and 3 TiKV (one store for each of the 3 replicas)`,
    );
  if (!CLUSTER_NAME.test(input.clusterName))
    problems.push(`TiDB cluster name "${clip(input.clusterName)}" is not a valid TiUP name`);
  if (!USER.test(input.sshUser))
    problems.push(`TiUP's SSH user "${clip(input.sshUser)}" is not a valid user name`);
  if (!Number.isInteger(input.sshPort) || input.sshPort < 1 || input.sshPort > 65535)
    problems.push(`TiUP's SSH port ${input.sshPort} is not a TCP port`);
  const seen = new Set<string>();
  for (const s of input.servers) {
    if (!HOSTNAME.test(s.hostname))
      problems.push(`db server "${clip(s.hostname)}" has a host name TiUP's topology cannot hold`);
    if (!isIPv4(s.private))
      problems.push(
        `db server ${clip(s.hostname)}: private address "${clip(s.private)}" is not IPv4`,
      );
    else if (seen.has(s.private))
      problems.push(`db server ${clip(s.hostname)}: private address ${s.private} is used twice`);
    seen.add(s.private);
  }
  if (problems.length > 0)
    throw new ConfigError('the TiDB topology cannot be made:', problems, {
      hint: 'list at least 3 db servers, each with its own private address',
    });
  const hosts = input.servers.map((s) => ({ name: s.hostname, host: s.private }));
  const core = hosts.slice(0, TIDB_QUORUM);
  return {
    pd: core,
    tikv: core,
    tidb: hosts,
    monitoring: input.monitoring ? hosts[hosts.length - 1] : undefined,
  };
}

/** How many instances `tiup cluster display` lists for this layout. */
export function tidbInstanceCount(layout: TidbLayout): number {
  // Monitoring is two instances: Prometheus and Grafana.
  return layout.pd.length + layout.tikv.length + layout.tidb.length + (layout.monitoring ? 2 : 0);
}

/** The text of topology.yaml (templates/tidb/topology.yaml.hbs). */
export function renderTidbTopology(input: TidbTopologyInput): string {
  const layout = tidbLayout(input);
  const p = TIDB_PORTS;
  return render('tidb/topology.yaml.hbs', {
    clusterName: input.clusterName,
    sshUser: input.sshUser,
    sshPort: input.sshPort,
    user: TIDB_USER,
    deployDir: TIDB_DEPLOY_DIR,
    dataDir: TIDB_DATA_DIR,
    nodeExporterPort: p.nodeExporter,
    blackboxExporterPort: p.blackboxExporter,
    pd: layout.pd.map((h) => ({ ...h, clientPort: p.pdClient, peerPort: p.pdPeer })),
    tikv: layout.tikv.map((h) => ({ ...h, port: p.tikv, statusPort: p.tikvStatus })),
    tidb: layout.tidb.map((h) => ({ ...h, port: p.sql, statusPort: p.status })),
    monitoring: layout.monitoring !== undefined,
    monitoringName: layout.monitoring?.name ?? '',
    monitoringHost: layout.monitoring?.host ?? '',
  });
}
