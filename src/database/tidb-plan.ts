/**
 * DATABASE=tidb: the plan (pure) that installs a TiDB cluster with PingCAP's TiUP from the first
 * db server, as phases: install TiUP from TIUP_MIRROR and make its SSH key; authorise the key as
 * root on every db server; write the topology and require `tiup cluster check` to pass; deploy;
 * start once with `--init` and keep the generated root password in etcd (never printed); gate on
 * `tiup cluster display` showing every instance Up.
 *
 * NOT EXERCISED FOR REAL: TiDB's binaries cannot be downloaded on the machines the test suite
 * runs on, so these phases have never deployed a cluster. They are unit-tested as plans (titles,
 * scripts, parsers); the first real run will be someone's own servers. A `database` component
 * calls `tidbPhases` and `tidbGate` for the first db server (they are not wired in here).
 */
import { CONFIG_DIR, STATE_DIR } from '../components/base.ts';
import type { ClusterServer, HostContext } from '../components/types.ts';
import type { TidbConfig } from '../config/env.ts';
import { ETCDCTL } from '../etcd/remote.ts';
import { ConfigError, ShoestringError } from '../errors.ts';
import type { Gate, Phase } from '../plan/phase.ts';
import { apt, files, shell, type Step } from '../plan/steps/index.ts';
import { q } from '../ssh/quote.ts';
import type { Target } from '../ssh/target.ts';
import { checkVerdict, displayVerdict } from './tidb-output.ts';
import {
  renderTidbTopology,
  TIDB_DEPLOY_DIR,
  tidbInstanceCount,
  tidbLayout,
  type TidbTopologyInput,
} from './tidb-topology.ts';

/** The name TiUP knows the cluster by. */
export const TIDB_CLUSTER = 'shoestring';
/** TiUP's home on the first db server (root's; set explicitly, whatever HOME sudo leaves). */
export const TIUP_HOME = '/root/.tiup';
export const TIUP = `TIUP_HOME=${TIUP_HOME} ${TIUP_HOME}/bin/tiup`;
export const TIDB_CONFIG_DIR = `${CONFIG_DIR}/tidb`;
export const TIDB_TOPOLOGY = `${TIDB_CONFIG_DIR}/topology.yaml`;
/** TiUP's SSH key (PEM RSA: every TiUP version reads it). */
export const TIUP_KEY = `${TIDB_CONFIG_DIR}/tiup_rsa`;
export const TIDB_STATE_DIR = `${STATE_DIR}/tidb`;
const CHECK_OUT = `${TIDB_STATE_DIR}/check.out`;
const DEPLOY_LOG = `${TIDB_STATE_DIR}/deploy.log`;
/** The root password between `start --init` and etcd (0600, removed once etcd holds it). */
export const ROOT_PASSWORD_FILE = `${TIDB_STATE_DIR}/root-password`;
/** Written once `start --init` has set the root password of the deployed cluster. */
const INITIALISED = `${TIDB_STATE_DIR}/initialised`;
/** Where TiDB's root password is kept, like the Galera passwords. */
export const TIDB_ROOT_PASSWORD_KEY = '/shoestring/database/root';
/** The comment of TiUP's public key: marks the lines Shoestring manages in authorized_keys. */
const KEY_COMMENT = 'shoestring-tiup';
const AUTHORIZED_KEYS = '/root/.ssh/authorized_keys';

/** Check: TiUP lists the cluster (it is deployed). awk reads to the end: no SIGPIPE. */
const DEPLOYED = `${TIUP} cluster list 2>/dev/null | awk -v n=${q(TIDB_CLUSTER)} '$1 == n { found = 1 } END { exit !found }'`;

export interface TidbOptions {
  /** A monitoring host (Prometheus, Grafana) on the last db server; default none (budget). */
  readonly monitoring?: boolean;
}

function tidbConfig(ctx: HostContext): TidbConfig {
  if (!ctx.config.tidb)
    throw new ShoestringError(`the TiDB plan needs DATABASE=tidb (it is ${ctx.config.database})`);
  return ctx.config.tidb;
}

/** TiUP reaches every db server on one SSH port (the topology's global ssh_port). */
function sshPort(dbServers: readonly ClusterServer[]): number {
  const ports = [...new Set(dbServers.map((s) => s.server.port ?? 22))];
  if (ports.length > 1)
    throw new ConfigError(
      `DATABASE=tidb: the db servers listen for SSH on different ports (${ports.join(', ')})`,
      [],
      { hint: 'TiUP logs in to every db server on one port: give them the same SSH port' },
    );
  return ports[0] ?? 22;
}

export function tidbTopologyInput(
  dbServers: readonly ClusterServer[],
  options: TidbOptions = {},
): TidbTopologyInput {
  return {
    clusterName: TIDB_CLUSTER,
    sshUser: 'root',
    sshPort: sshPort(dbServers),
    servers: dbServers.map((s) => ({ hostname: s.hostname, private: s.private })),
    ...(options.monitoring ? { monitoring: true } : {}),
  };
}

function firstOf(dbServers: readonly ClusterServer[], options: TidbOptions): ClusterServer {
  tidbLayout(tidbTopologyInput(dbServers, options)); // refuses fewer than 3, with the reason
  const first = dbServers[0];
  if (!first) throw new ShoestringError('DATABASE=tidb: no db servers');
  return first;
}

function installPhase(mirror: string): Phase {
  const installed = [
    `[ -x ${TIUP_HOME}/bin/tiup ]`,
    `[ "$(${TIUP} mirror show 2>/dev/null)" = ${q(mirror)} ]`,
    `[ -d ${TIUP_HOME}/components/cluster ]`,
  ].join(' && ');
  return {
    title: 'Install TiUP',
    steps: [
      files.directory(TIDB_CONFIG_DIR, { mode: '0700' }),
      files.directory(TIDB_STATE_DIR, { mode: '0700' }),
      // Idempotent: done while TiUP is installed, set to TIUP_MIRROR, with its cluster component.
      shell.command(
        'Install TiUP from TIUP_MIRROR',
        installed,
        [
          `mirror=${q(mirror)}`,
          // The topology says arch amd64: TiUP would push x86-64 binaries to any server.
          `if [ "$(uname -m)" != x86_64 ]; then echo "Shoestring's TiDB plan is for x86_64 servers; this one is $(uname -m)" >&2; exit 1; fi`,
          `install -d -m 0755 ${TIUP_HOME}/bin`,
          `curl -fsS --retry 3 -o "$SHOESTRING_TMP/tiup.tar.gz" "$mirror/tiup-linux-amd64.tar.gz"`,
          `tar -xzf "$SHOESTRING_TMP/tiup.tar.gz" -C ${TIUP_HOME}/bin`,
          `chmod 0755 ${TIUP_HOME}/bin/tiup`,
          // Fetches the mirror's root.json (trusted on first use, as PingCAP's installer does).
          `${TIUP} mirror set "$mirror" >/dev/null`,
          `${TIUP} install cluster >/dev/null`,
        ].join('\n'),
      ),
      // Idempotent: made once; kept while both halves exist.
      shell.command(
        "Make TiUP's SSH key",
        `[ -s ${TIUP_KEY} ] && [ -s ${TIUP_KEY}.pub ]`,
        [
          `rm -f ${TIUP_KEY} ${TIUP_KEY}.pub`,
          `ssh-keygen -q -t rsa -b 4096 -m PEM -N '' -C ${KEY_COMMENT} -f ${TIUP_KEY}`,
        ].join('\n'),
      ),
    ],
  };
}

const PUBLIC_KEY = new RegExp(`^ssh-rsa [A-Za-z0-9+/]+={0,2} ${KEY_COMMENT}$`);

/**
 * Root's authorized_keys holds TiUP's key (usable only from the first db server's private
 * address) and no other key Shoestring made for TiUP. `publicKey` is what the first db server's
 * key file holds: empty in a dry run before the key exists.
 */
export function authoriseStep(fromAddress: string, publicKey: string): Step {
  const title = "Authorise TiUP's key for root";
  if (!PUBLIC_KEY.test(publicKey)) {
    // Only before the key is made (a dry run on fresh servers): shown as a change; fails if run.
    const why = `TiUP's public key ${TIUP_KEY}.pub on the first db server is missing or not a key`;
    return shell.command(title, 'false', `echo ${q(why)} >&2\nexit 1`);
  }
  const line = `from="${fromAddress}" ${publicKey}`;
  const ours = `' ${KEY_COMMENT}$'`;
  // Idempotent: done while the line is there and is the only line with TiUP's key comment.
  return shell.command(
    title,
    `grep -qxF -- ${q(line)} ${AUTHORIZED_KEYS} && [ "$(grep -c -- ${ours} ${AUTHORIZED_KEYS})" -eq 1 ]`,
    [
      'install -d -m 0700 /root/.ssh',
      `{ if [ -e ${AUTHORIZED_KEYS} ]; then grep -v -- ${ours} ${AUTHORIZED_KEYS} || true; fi; printf '%s\\n' ${q(line)}; } >"$SHOESTRING_TMP/authorized_keys"`,
      `install -m 0600 "$SHOESTRING_TMP/authorized_keys" ${AUTHORIZED_KEYS}`,
    ].join('\n'),
  );
}

/** On each db server (asked of the first for the public key): TiUP may log in as root. */
function authorisePhase(first: ClusterServer, server: ClusterServer): Phase {
  return {
    title: `Authorise TiUP on ${server.hostname}`,
    ...(server === first ? {} : { on: server.target }),
    query: { on: first.target, script: `cat ${TIUP_KEY}.pub 2>/dev/null || true` },
    steps: (answer) => [
      // tiup cluster check fails a host without numactl.
      apt.packages(['numactl']),
      authoriseStep(first.private, answer.trim()),
    ],
  };
}

/**
 * Polled right after the check ran: its saved output has no `Fail` row (or the cluster is
 * deployed already, and the check has no more say).
 */
export function tidbCheckGate(on: Target): Gate {
  return {
    title: 'TiDB pre-deploy check',
    probe: `if ${DEPLOYED}; then echo deployed; else cat ${CHECK_OUT} 2>/dev/null || true; fi`,
    verdict: (out) => (out.trim() === 'deployed' ? undefined : checkVerdict(out)),
    hint: `fix what failed on those servers (as root on ${on.name}, tiup cluster check ${TIDB_TOPOLOGY} --apply --user root -i ${TIUP_KEY} fixes kernel settings and limits), then provision again`,
    seconds: 5,
    on,
  };
}

function checkPhase(first: ClusterServer, topology: string): Phase {
  return {
    title: 'Check the servers for TiDB',
    steps: [
      files.file(TIDB_TOPOLOGY, topology, { mode: '0644' }),
      // Idempotent: runs on every provision until the cluster is deployed (then never again).
      shell.command(
        'Run tiup cluster check',
        DEPLOYED,
        [
          `rm -f ${CHECK_OUT}`,
          `if ! ${TIUP} cluster check ${TIDB_TOPOLOGY} --user root -i ${TIUP_KEY} >"$SHOESTRING_TMP/check.out" 2>&1; then`,
          `  echo 'tiup cluster check did not run through:' >&2`,
          `  tail -n 5 "$SHOESTRING_TMP/check.out" >&2`,
          '  exit 1',
          'fi',
          `mv "$SHOESTRING_TMP/check.out" ${CHECK_OUT}`,
        ].join('\n'),
      ),
    ],
    confirm: tidbCheckGate(first.target),
  };
}

function deployPhase(version: string): Phase {
  return {
    title: 'Deploy TiDB',
    steps: [
      // Idempotent: only while TiUP does not list the cluster. A later topology or version
      // change is not applied (tiup cluster scale-out / upgrade are the operator's).
      shell.command(
        `Deploy TiDB ${version} (tiup cluster deploy)`,
        DEPLOYED,
        [
          // A new cluster gets its root password from its own first start.
          `rm -f ${INITIALISED}`,
          `if ! ${TIUP} cluster deploy ${TIDB_CLUSTER} ${q(version)} ${TIDB_TOPOLOGY} --user root -i ${TIUP_KEY} --yes >${DEPLOY_LOG} 2>&1; then`,
          `  echo 'tiup cluster deploy failed (all of its output: ${DEPLOY_LOG}):' >&2`,
          `  tail -n 5 ${DEPLOY_LOG} >&2`,
          '  exit 1',
          'fi',
        ].join('\n'),
      ),
    ],
  };
}

export interface StartPaths {
  /** The tiup command. */
  readonly tiup: string;
  readonly passwordFile: string;
  readonly marker: string;
}

const STRIP_COLOURS = String.raw`s/\x1b\[[0-9;]*m//g`;
const PASSWORD_LINE = String.raw`^The new password is: '\(.*\)'\.[[:space:]]*$`;

/** Where start's output is kept while it is read (it holds the password). */
const START_OUT = '"$SHOESTRING_TMP/tidb-start.out"';

/**
 * `tiup cluster start --init`, its output in a 0600 file (umask 077, in the apply's private
 * temp directory), the password line's value moved to `passwordFile` (0600), the output removed.
 * Nothing of it is printed: no `set -x`, no echo of a variable; on failure only the output's
 * last lines without the word "password". The marker is written as soon as a password was
 * captured: --init has run then, and must never run again.
 */
export function startInitScript(p: StartPaths): string {
  const grab = `/${PASSWORD_LINE}/{s/${PASSWORD_LINE}/\\1/p;q}`;
  const tmp = `${p.passwordFile}.tmp`;
  return [
    '(',
    'umask 077',
    'rc=0',
    `${p.tiup} cluster start ${TIDB_CLUSTER} --init >${START_OUT} 2>&1 || rc=$?`,
    `sed -n -e ${q(STRIP_COLOURS)} -e ${q(grab)} ${START_OUT} >${q(tmp)}`,
    `if [ -s ${q(tmp)} ]; then mv ${q(tmp)} ${q(p.passwordFile)}; touch ${q(p.marker)}; else rm -f ${q(tmp)}; fi`,
    'if [ "$rc" -ne 0 ]; then',
    `  echo "tiup cluster start --init exited $rc; its last lines (without password lines):" >&2`,
    `  { sed -e ${q(STRIP_COLOURS)} ${START_OUT} | grep -iv password | tail -n 5 >&2; } || true`,
    `  rm -f ${START_OUT}`,
    '  exit 1',
    'fi',
    `rm -f ${START_OUT}`,
    `if [ ! -e ${q(p.marker)} ]; then`,
    `  echo "tiup cluster start --init printed no root password: TiDB's root password is unknown (see TiDB's docs: forgot the root password)" >&2`,
    '  exit 1',
    'fi',
    ')',
  ].join('\n');
}

/** The captured password into etcd (on stdin, never in argv), then its file removed. */
export function storePasswordScript(p: { passwordFile: string; etcdctl: string }): string {
  return [
    `tr -d '\\n' <${q(p.passwordFile)} | ${p.etcdctl} --dial-timeout=2s --command-timeout=5s put ${TIDB_ROOT_PASSWORD_KEY} >/dev/null`,
    `rm -f ${q(p.passwordFile)}`,
  ].join('\n');
}

function startPhases(): Phase[] {
  return [
    {
      title: 'Start TiDB',
      steps: [
        // Idempotent: once per deployed cluster (the marker is written when --init has set the
        // root password; a second --init would fail, root has a password then).
        shell.command(
          'Start TiDB and capture its root password (tiup cluster start --init)',
          `[ -e ${INITIALISED} ]`,
          startInitScript({
            tiup: TIUP,
            passwordFile: ROOT_PASSWORD_FILE,
            marker: INITIALISED,
          }),
        ),
      ],
    },
    {
      // A phase of its own: probed after the start made the password file.
      title: 'Keep the TiDB root password in etcd',
      steps: [
        // Idempotent: only while a captured password file exists; removed once etcd has it.
        shell.command(
          'Store the TiDB root password in etcd',
          `[ ! -e ${ROOT_PASSWORD_FILE} ]`,
          storePasswordScript({ passwordFile: ROOT_PASSWORD_FILE, etcdctl: ETCDCTL }),
        ),
      ],
    },
  ];
}

/**
 * The phases that install the TiDB cluster, for the first db server (`dbServers[0]`, db-servers.txt
 * order); none for any other host. Refuses fewer than 3 db servers (ConfigError). Never run by the
 * test suite (see the top of this file).
 */
export function tidbPhases(
  ctx: HostContext,
  dbServers: readonly ClusterServer[],
  options: TidbOptions = {},
): Phase[] {
  const tidb = tidbConfig(ctx);
  const first = firstOf(dbServers, options);
  if (ctx.self.server.spec !== first.server.spec) return [];
  const topology = renderTidbTopology(tidbTopologyInput(dbServers, options));
  return [
    installPhase(tidb.mirror),
    ...dbServers.map((s) => authorisePhase(first, s)),
    checkPhase(first, topology),
    deployPhase(tidb.version),
    ...startPhases(),
  ];
}

/** Health gate (on the first db server): `tiup cluster display` shows every instance Up. */
export function tidbGate(
  ctx: HostContext,
  dbServers: readonly ClusterServer[],
  options: TidbOptions = {},
): Gate {
  const tidb = tidbConfig(ctx);
  const first = firstOf(dbServers, options);
  const instances = tidbInstanceCount(tidbLayout(tidbTopologyInput(dbServers, options)));
  return {
    title: 'TiDB gate',
    probe: `${TIUP} cluster display ${TIDB_CLUSTER} 2>&1 || true`,
    verdict: (out) => displayVerdict(out, { instances, version: tidb.version }),
    hint: `look at: tiup cluster display ${TIDB_CLUSTER} as root on ${first.server.spec} (TIUP_HOME=${TIUP_HOME}), and the logs under ${TIDB_DEPLOY_DIR}/*/log`,
    seconds: 180,
    on: first.target,
  };
}
