/** Loading the inputs and gathering preflight facts: everything before the first change. */
import { readFileSync, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { describeApps, readApps, type App } from '../apps/discover.ts';
import { displayPath } from '../cli/output.ts';
import { APPS_SOURCE } from '../apps/source.ts';
import { parseDbServers } from '../config/db-servers.ts';
import { loadConfigFile, type Config } from '../config/env.ts';
import { readableFileProblem } from '../config/env-checks.ts';
import { parseServers, type Server } from '../config/servers.ts';
import { ConfigError, ShoestringError } from '../errors.ts';
import { parsePreflight, PREFLIGHT_SCRIPT, type HostFacts } from '../preflight/probe.ts';
import { assertBridge } from '../lab/network.ts';
import { paths as labPaths } from '../lab/paths.ts';
import { section, sectionLine } from '../plan/sections.ts';
import { pMap, Transport, type Target } from '../ssh/transport.ts';
import { PORTS } from '../components/ports.ts';
import { privateAddresses } from '../network/addresses.ts';
import { NETWORK_SURVEY, surveyOf } from '../network/survey.ts';
import { DEFAULT_PRIVATE_NETWORK, DEFAULT_WIREGUARD_PORT } from '../config/network-settings.ts';
import type { NetworkConfig } from '../config/env.ts';
import type { ClusterServer } from '../components/types.ts';

export interface Inputs {
  readonly config: Config;
  readonly servers: readonly Server[];
  readonly serversFile: string;
  /** The checkout's apps (APPS_SOURCE), validated against the config's DOMAIN. */
  readonly apps: readonly App[];
  /** The database members: db-servers.txt beside the servers file, or every server. */
  readonly dbServers: readonly Server[];
  /** The db-servers file's path (it need not exist). */
  readonly dbServersFile: string;
  /** The db-servers file exists (without it every server is a database member). */
  readonly dbServersListed: boolean;
}

export interface InputPaths {
  readonly servers: string;
  readonly env: string;
}

/** `--lab` is shorthand for the files the lab writes. */
export function inputPaths(values: {
  servers?: string | undefined;
  env?: string | undefined;
  lab?: boolean | undefined;
}): InputPaths {
  if (values.lab) {
    if (values.servers || values.env)
      throw new ConfigError('--lab cannot be combined with --servers or --env');
    // The lab lives in the checkout (.lab/), wherever the command is started.
    return { servers: displayPath(labPaths.serversTxt), env: displayPath(labPaths.env) };
  }
  return { servers: values.servers ?? 'servers.txt', env: values.env ?? '.env' };
}

/**
 * Reads and validates every input before any server is touched: servers file, settings and the
 * checkout's apps (`appsDir`, default APPS_SOURCE). Throws a ConfigError (exit 2) on bad input.
 */
export function loadInputs(paths: InputPaths, appsDir: string = APPS_SOURCE): Inputs {
  const serversProblem = readableFileProblem(paths.servers);
  if (serversProblem !== undefined) {
    throw new ConfigError(`${paths.servers} ${serversProblem}`, [], {
      hint:
        serversProblem !== 'not found'
          ? 'point --servers at your servers file'
          : resolve(paths.servers) === labPaths.serversTxt
            ? 'start the lab first: npm run lab -- up'
            : 'list your servers in servers.txt, one a line',
    });
  }
  const config = loadConfigFile(paths.env);
  const servers = parseServers(readFileSync(paths.servers, 'utf8'), paths.servers);
  const apps = describeApps(readApps(appsDir), config.domain, PORTS.appsFrom, {
    dir: displayPath(appsDir),
  });
  const dbServersFile = join(dirname(paths.servers), 'db-servers.txt');
  const dbServersListed = existsSync(dbServersFile);
  const dbProblem = dbServersListed ? readableFileProblem(dbServersFile) : undefined;
  if (dbProblem !== undefined) {
    throw new ConfigError(`${dbServersFile} ${dbProblem}`, [], {
      hint: 'db-servers.txt lists the database servers, one a line; without it every server is one',
    });
  }
  const dbServers = dbServersListed
    ? parseDbServers(readFileSync(dbServersFile, 'utf8'), dbServersFile, servers)
    : servers;
  return {
    config,
    servers,
    serversFile: paths.servers,
    apps,
    dbServers,
    dbServersFile,
    dbServersListed,
  };
}

export function makeTransport(config: Config): Transport {
  return new Transport({
    user: config.ssh.user,
    key: config.ssh.key,
    knownHosts: config.ssh.knownHosts,
    // A lab's settings (LAB_DNS is set): never connect to a lab address unless its bridge
    // exists, or the packets would be routed off this machine.
    ...(config.labDns ? { beforeConnect: assertBridge } : {}),
  });
}

export function targetOf(server: Server): Target {
  return { name: server.spec, host: server.host, user: server.user, port: server.port };
}

export interface Gathered {
  readonly servers: ClusterServer[];
  readonly failures: ShoestringError[];
}

/** Runs the preflight probe on every server (in parallel); connection failures are collected. */
/** A component's read-only survey, run in the preflight round trip (see Component.survey). */
export interface Survey {
  readonly name: string;
  readonly script: string;
}

/**
 * Runs the preflight probe on every server (in parallel), with the components' surveys in the
 * same round trip; connection failures are collected.
 */
export async function gatherFacts(
  t: Transport,
  servers: readonly Server[],
  parallel: number,
  surveys: readonly Survey[] = [],
  network: NetworkConfig = { cidr: DEFAULT_PRIVATE_NETWORK, port: DEFAULT_WIREGUARD_PORT },
): Promise<Gathered & { epochs: number[] }> {
  // Every run needs each server's private address (see privateAddresses).
  surveys = [
    { name: 'network', script: NETWORK_SURVEY },
    ...surveys.filter((v) => v.name !== 'network'),
  ];
  const failures: ShoestringError[] = [];
  const gathered: (ClusterServer | undefined)[] = [];
  const epochs: number[] = [];
  // Each survey in a subshell: whatever it does, preflight's own output stays whole.
  const script = [
    PREFLIGHT_SCRIPT,
    ...surveys.map(
      (v) => `${section(`survey:${v.name}`)}
(
${v.script}
) || true`,
    ),
  ].join('\n');
  await pMap(servers, parallel, async (server, i) => {
    const target = targetOf(server);
    try {
      const res = await t.run(target, script, { what: 'preflight', timeoutMs: 60_000 });
      epochs[i] = Math.floor(Date.now() / 1000);
      const facts: HostFacts = parsePreflight(res.stdout, server.spec);
      const address = isIP(server.host) ? server.host : (facts.addresses[0] ?? server.host);
      const answers = new Map(surveys.map((v) => [v.name, surveyOutput(res.stdout, v.name)]));
      gathered[i] = {
        server,
        target,
        facts,
        address,
        private: '', // below, once every server answered
        hostname: facts.hostname,
        surveys: answers,
      };
    } catch (e) {
      if (e instanceof ShoestringError) failures.push(e);
      else throw e;
    }
  });
  const answered = gathered.filter((s): s is ClusterServer => s !== undefined);
  const privates = privateAddresses(
    answered.map((s) => s.server),
    answered.map((s) => surveyOf(s).address),
    network.cidr,
  );
  return {
    servers: answered.map((s, i) => ({ ...s, private: privates[i] ?? '' })),
    failures,
    epochs,
  };
}

/** The output of one survey, with its own sections (pure). */
export function surveyOutput(output: string, name: string): string {
  const lines = output.split('\n');
  const from = lines.indexOf(sectionLine(`survey:${name}`));
  if (from < 0) return '';
  const rest = lines.slice(from + 1);
  const end = rest.findIndex((l) => l.startsWith(sectionLine('survey:')));
  return (end < 0 ? rest : rest.slice(0, end)).join('\n');
}
