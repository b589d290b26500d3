/**
 * A Galera member's phases: install MariaDB with Galera 4 from Debian, configure it on the
 * private address, then start it by the cluster plan's role: bootstrap a new cluster (only when
 * no member anywhere holds data), join in the cluster-wide `database` turn (one state transfer
 * at a time), or stay as it runs. The member's health check service for the proxies comes with
 * it. A configuration change never restarts a running member (the member list is only read at
 * start, and a restart is a state transfer): it takes effect at its next start.
 */
import { LIB_DIR } from '../paths.ts';
import {
  GALERA_CNF,
  GRASTATE,
  NO_UUID,
  parseWsrepStatus,
  WSREP_STATUS,
} from '../database/galera-state.ts';
import type { Gate, Phase } from '../plan/phase.ts';
import { apt, files, shell, systemd, type Step } from '../plan/steps/index.ts';
import { q } from '../ssh/quote.ts';
import { render } from '../templates.ts';
import { WG_SERVICE } from '../network/wireguard.ts';
import { usesWireGuard } from './network.ts';
import { PORTS } from './ports.ts';
import type { HostContext } from './types.ts';

export const CLUSTER_NAME = 'shoestring';
export const DBCHECK_SCRIPT = `${LIB_DIR}/dbcheck`;
export const DBCHECK_SERVICE = 'shoestring-dbcheck.service';
const DBCHECK_SERVICE_FILE = `/etc/systemd/system/${DBCHECK_SERVICE}`;
/** How often the check asks its member, how long it waits, when its last answer is too old. */
export const DBCHECK_TIMING = { everySeconds: 0.5, timeoutSeconds: 2, staleSeconds: 3 } as const;
/** The member's order at a shutdown (mariadb-order.conf.hbs). */
export const MARIADB_ORDER = '/etc/systemd/system/mariadb.service.d/shoestring-order.conf';
/** How long a stopping member waits at most for the emperor to stop first. */
const EMPEROR_STOP_WAIT_SECONDS = 60;

/** The check as it was before (a script started per connection by a socket unit): removed. */
const OLD_DBCHECK_SOCKET = 'shoestring-dbcheck.socket';
const oldDbcheckAbsent = (): Step =>
  systemd.unitAbsent(OLD_DBCHECK_SOCKET, [
    `/etc/systemd/system/${OLD_DBCHECK_SOCKET}`,
    '/etc/systemd/system/shoestring-dbcheck@.service',
  ]);

/** The check service gone (and the socket unit of the check before it): a member's teardown. */
export function dbcheckAbsent(): Step[] {
  return [
    oldDbcheckAbsent(),
    systemd.unitAbsent(DBCHECK_SERVICE, [DBCHECK_SERVICE_FILE]),
    files.absent(MARIADB_ORDER),
  ];
}
/** Galera declares a silent member gone after this long (default 5 s; writes wait meanwhile). */
export const SUSPECT_SECONDS = 3;
const INACTIVE_SECONDS = 10;

export const GALERA_PACKAGES = ['mariadb-server', 'galera-4', 'rsync'] as const;

/** Shell check: this member runs in a primary component and is Synced. */
export const SYNCED = `{ ${WSREP_STATUS}; } | awk '$1=="wsrep_cluster_status"{p=$2} $1=="wsrep_local_state_comment"{s=$2} END{exit !(p=="Primary" && s=="Synced")}'`;

/** Shell: wait up to `seconds` for SYNCED, then fail saying what the member is. */
export function waitSynced(seconds: number, what: string): string {
  return `(end=$((SECONDS + ${seconds})); until ${SYNCED}; do if [ "$SECONDS" -ge "$end" ]; then echo ${q(what)} >&2; { ${WSREP_STATUS}; } >&2; exit 1; fi; sleep 1; done)`;
}

export function galeraConfig(ctx: HostContext): string {
  return render('database/galera.cnf.hbs', {
    name: ctx.self.hostname,
    address: ctx.self.private,
    clusterName: CLUSTER_NAME,
    members: ctx.database.members.map((s) => s.private).join(','),
    ports: { group: PORTS.galeraGroup, ist: PORTS.galeraIst, sst: PORTS.galeraSst },
    suspectSeconds: SUSPECT_SECONDS,
    inactiveSeconds: INACTIVE_SECONDS,
  });
}

export function installPhase(): Phase {
  return {
    title: 'Install MariaDB and Galera',
    steps: [apt.packages(GALERA_PACKAGES)],
  };
}

export function configPhase(ctx: HostContext): Phase {
  return {
    title: 'Configure the database member',
    steps: [
      // No restart on change: see the file's comment (the start phase starts it as a member).
      files.file(GALERA_CNF, galeraConfig(ctx)),
      files.directory(LIB_DIR),
      // The check before this one held the port: gone first.
      oldDbcheckAbsent(),
      files.file(DBCHECK_SCRIPT, render('database/dbcheck.py.hbs', DBCHECK_TIMING), {
        mode: '0755',
        notify: [{ service: DBCHECK_SERVICE, action: 'restart' }],
      }),
      files.file(
        DBCHECK_SERVICE_FILE,
        render('database/dbcheck.service.hbs', {
          script: DBCHECK_SCRIPT,
          address: ctx.self.private,
          port: PORTS.databaseCheck,
        }),
        { notify: [{ service: DBCHECK_SERVICE, action: 'restart' }] },
      ),
      systemd.daemonReload([{ unit: DBCHECK_SERVICE, files: [DBCHECK_SERVICE_FILE] }]),
      systemd.service(DBCHECK_SERVICE),
      files.file(
        MARIADB_ORDER,
        render('database/mariadb-order.conf.hbs', {
          meshService: usesWireGuard(ctx) ? `${WG_SERVICE}.service` : false,
          waitSeconds: EMPEROR_STOP_WAIT_SECONDS,
          waitTenths: EMPEROR_STOP_WAIT_SECONDS * 10,
        }),
      ),
      systemd.daemonReload([{ unit: 'mariadb', files: [MARIADB_ORDER] }]),
      // Started at boot: a rebooted member rejoins by itself.
      systemd.service('mariadb', { running: 'leave' }),
    ],
  };
}

/** Bootstraps a new cluster here: refuses when this member holds a cluster's data. */
function bootstrapPhase(): Phase {
  return {
    title: 'Start the database cluster',
    steps: [
      // Idempotent: done once this member is Synced in a primary component.
      shell.command(
        'Bootstrap a new database cluster',
        SYNCED,
        [
          `uuid=$(sed -n 's/^uuid:[[:space:]]*//p' ${GRASTATE} 2>/dev/null || true)`,
          `if [ -n "$uuid" ] && [ "$uuid" != ${NO_UUID} ]; then echo "this member holds data of cluster $uuid: not bootstrapping a new cluster over it" >&2; exit 1; fi`,
          'systemctl stop mariadb',
          settledStart('galera_new_cluster'),
          waitSynced(120, 'the new database cluster did not become Synced within 2 minutes'),
        ].join('\n'),
      ),
    ],
  };
}

/**
 * Shell: starts mariadb with `command` once its unit has settled (not activating, e.g. still
 * waiting for a primary component on its own, nor deactivating), and tries once more after 3 s
 * when systemd could not start it: right after a failed start, systemd may not have emptied the
 * unit's cgroup yet (seen in containers as status 219/CGROUP), which is no reason to give up.
 */
export function settledStart(command: string): string {
  return [
    `for i in $(seq 1 60); do case "$(systemctl is-active mariadb)" in activating|deactivating|reloading) sleep 1;; *) break;; esac; done`,
    'systemctl reset-failed mariadb 2>/dev/null || true',
    `if ! ${command}; then echo "${command} failed; trying once more in 3 s" >&2; sleep 3; systemctl reset-failed mariadb 2>/dev/null || true; ${command}; fi`,
  ].join('\n');
}

/**
 * Waits until the member at `via` (private address) says it is Synced, asked over the network
 * through its check service (not over SSH: that server may be busy provisioning itself), then
 * (re)starts this member as a joiner, in the cluster-wide `database` turn.
 */
export function joinPhase(via: string | undefined): Phase {
  const check = via ? `http://${via}:${PORTS.databaseCheck}/` : '';
  return {
    title: 'Join the database cluster',
    turn: 'database',
    steps: [
      // Idempotent: done once this member is Synced. The restart takes a state transfer
      // (Type=notify: systemctl returns when it is done).
      shell.command(
        'Join the database cluster',
        SYNCED,
        [
          ...(via
            ? [
                `(end=$((SECONDS + 300)); until curl -fsS -m 2 -o /dev/null ${check}; do if [ "$SECONDS" -ge "$end" ]; then echo "the database member at ${via} was not Synced within 5 minutes: nothing to join" >&2; exit 1; fi; sleep 1; done)`,
              ]
            : []),
          'systemctl stop mariadb',
          settledStart('systemctl start mariadb'),
          waitSynced(600, 'this member did not become Synced within 10 minutes of joining'),
        ].join('\n'),
      ),
    ],
  };
}

export type MemberRole =
  | { readonly kind: 'bootstrap' }
  | { readonly kind: 'join'; readonly via: string | undefined }
  | { readonly kind: 'member' };

export function startPhases(role: MemberRole): Phase[] {
  if (role.kind === 'bootstrap') return [bootstrapPhase()];
  if (role.kind === 'join') return [joinPhase(role.via)];
  return [
    {
      title: 'Start the database member',
      steps: [
        // Running members stay as they are; a stopped one rejoins (in turn, as a join would).
        shell.command(
          'Database member running',
          'systemctl is-active -q mariadb',
          [
            settledStart('systemctl start mariadb'),
            waitSynced(600, 'this member did not become Synced within 10 minutes'),
          ].join('\n'),
        ),
      ],
    },
  ];
}

/**
 * Gate: Synced in a primary component, with at least `size` members in the group (the members
 * that were running before this run, plus this one: a member still down in a later rolling
 * group must not stop the rollout that brings it back).
 */
export function galeraGate(ctx: HostContext, size: number): Gate {
  return {
    title: 'database gate',
    probe: WSREP_STATUS,
    verdict: (out) => {
      const v = parseWsrepStatus(out);
      if (!v) return 'the database member does not answer';
      if (v.clusterStatus !== 'Primary')
        return `the database member is ${v.clusterStatus}, not in a primary component`;
      if (v.state !== 'Synced') return `the database member is ${v.state || 'unknown'}, not Synced`;
      if (v.size < size) return `the database cluster has ${v.size} members, expected ${size}`;
      return undefined;
    },
    hint: `look at: journalctl -u mariadb on ${ctx.self.server.spec}; scripts/status.ts`,
    seconds: 300,
  };
}
