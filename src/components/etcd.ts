/**
 * etcd: a static cluster from servers.txt, peers over TLS with the cluster CA, the client API on
 * 127.0.0.1 only. Bootstrap starts every member without waiting (Type=notify blocks until a
 * quorum exists); later, a new server joins (`member add`, then start with state existing), one
 * at a time. Gate: this member is healthy and a leader exists.
 */
import { etcdTeardown } from './teardown.ts';
import { GateError, ShoestringError } from '../errors.ts';
import { DATA_DIR, prepareEtcd, type EtcdCluster } from '../etcd/cluster.ts';
import { Mutex } from '../etcd/lock.ts';
import { clientUrl, joinInitialCluster, peerUrl } from '../etcd/membership.ts';
import { PROXY_SERVICE, proxyConfigPhase, retireProxy } from './etcd-proxy.ts';
import {
  CA_CERT,
  CA_IN_ETCD_CHECK,
  CA_IN_ETCD_PUT,
  CA_KEY,
  PEER_CERT,
  PEER_KEY,
  PKI_DIR,
  PROXY_CERT,
  PROXY_KEY,
  issuePeerCert,
  peerCertValid,
} from '../etcd/pki.ts';
import { ETCD_QUERY_SCRIPT, PROXY_ENV, parseEtcdAnswer, splitSections } from '../etcd/remote.ts';
import { urlHost } from '../etcd/status.ts';
import type { Notify, Phase } from '../plan/steps.ts';
import { apt, files, restartMarker, shell } from '../plan/steps.ts';
import { q } from '../ssh/quote.ts';
import { render } from '../templates.ts';
import type { ClusterServer, Component, HostContext } from './types.ts';

export const ETCD_ENV = '/etc/default/etcd';
export const INITIAL_ENV = '/etc/shoestring/etcd-initial.env';
export const LEADER_HELPER = '/usr/local/bin/am-i-the-leader';
export const DROP_IN = '/etc/systemd/system/etcd.service.d/shoestring.conf';
const HEALTHY = `curl -fsS -m 3 http://127.0.0.1:2379/health 2>/dev/null | grep -q '"health":"true"'`;

/**
 * A check that holds when etcd (or this server's etcd proxy) runs and `check` passes, asked a
 * few times: right after a bootstrap a healthy member can miss one answer, which must not count
 * as a change. Fails at once when neither runs (a first install), so probes stay fast.
 */
export function settled(check: string): string {
  return `{ systemctl is-active -q etcd || systemctl is-active -q ${PROXY_SERVICE}; } && for i in 1 2 3 4 5; do if ${check}; then exit 0; fi; sleep 0.3; done; exit 1`;
}

/** Prepared state per run (keyed by the run's server list, shared by every host context). */
const prepared = new WeakMap<readonly ClusterServer[], EtcdCluster>();
/** One membership change or member restart at a time, cluster-wide (each can cost a vote). */
const changes = new Mutex();
/** The turn each host holds, released after its change, or when the host ends (failed or not). */
const turns = new Map<ClusterServer, () => void>();

async function takeTurn(ctx: HostContext): Promise<void> {
  turns.set(ctx.self, await changes.acquire(6 * 60_000));
}

function endTurn(ctx: HostContext): void {
  turns.get(ctx.self)?.();
  turns.delete(ctx.self);
}

function clusterOf(ctx: HostContext): EtcdCluster {
  const c = prepared.get(ctx.servers);
  if (!c) throw new ShoestringError('etcd: the cluster was not prepared before provisioning');
  return c;
}

function writeInitialEnv(initialCluster: string, state: 'new' | 'existing', token: string) {
  const text = render('etcd/initial.env.hbs', { initialCluster, state, token });
  return `install -d -m 0755 /etc/shoestring\nprintf %s ${q(text)} > ${INITIAL_ENV}`;
}

/** Waits up to `seconds` for the local member to be healthy (it has a leader). */
export function waitHealthy(seconds: number): string {
  // A subshell: `exit 0` must not end the apply script (later changes follow it).
  // Bounded by time, not tries: one try can take curl's 3 s while no leader is elected.
  return `(end=$((SECONDS + ${seconds})); while [ "$SECONDS" -lt "$end" ]; do if ${HEALTHY}; then exit 0; fi; sleep 0.2; done; echo 'etcd did not become healthy in ${seconds} s' >&2; journalctl -u etcd -n 5 --no-pager >&2 || true; exit 1)`;
}

export const ETCD_PACKAGES = ['etcd-server', 'etcd-client', 'openssl'] as const;

export function installPhase(): Phase {
  return {
    title: 'Install etcd',
    // etcd-server's postinst would start a one-member cluster: keep it from starting.
    steps: [apt.packages(ETCD_PACKAGES, { noStart: true })],
  };
}

function hasProxies(cluster: EtcdCluster): boolean {
  return [...cluster.plan.roles.values()].some((r) => r.kind === 'proxy');
}

export function configPhase(ctx: HostContext, cluster: EtcdCluster): Phase {
  const { self } = ctx;
  const role = cluster.plan.roles.get(self.hostname);
  const ca = cluster.ca ?? { cert: '(made on the first run)\n', key: '(made on the first run)\n' };
  const caSteps = [
    files.directory(PKI_DIR, { mode: '0750', group: 'etcd' }),
    files.file(CA_CERT, ca.cert, { mode: '0644' }),
    files.file(CA_KEY, ca.key, { mode: '0600', secret: true }),
  ];
  const tail = [
    // A one-member cluster left by an earlier install without Shoestring: wiped once.
    shell.command(
      'Remove the default one-member etcd data',
      '[ ! -e /var/lib/etcd/default ]',
      `if [ ! -d ${DATA_DIR}/member ]; then systemctl stop etcd || true; fi\nrm -rf /var/lib/etcd/default`,
    ),
    // The on-server leader check (servers have Python, not Node); see am-i-the-leader.ts.
    files.file(
      LEADER_HELPER,
      render('etcd/am-i-the-leader.py.hbs', {
        proxyEnv: PROXY_ENV,
        caCert: CA_CERT,
        proxyCert: PROXY_CERT,
        proxyKey: PROXY_KEY,
      }),
      {
        mode: '0755',
      },
    ),
  ];
  if (role?.kind === 'proxy') return proxyConfigPhase(cluster, { ca: caSteps, tail });
  // A running member restarts on a config change, in the start phase, one member at a time (a
  // rolling group can hold several: restarting them at once could take the quorum away); a new
  // one is started by the start phase anyway.
  const restart: Notify[] =
    role?.kind === 'member' ? [{ service: 'etcd', action: 'restart-later' }] : [];
  return {
    title: 'Configure etcd',
    steps: [
      ...caSteps,
      // Idempotent: re-issued only when missing, not from this CA, or not naming this address.
      shell.command(
        'Issue the etcd peer certificate',
        peerCertValid(self.address),
        issuePeerCert(self.hostname, self.address),
        restart,
      ),
      retireProxy(),
      files.file(
        ETCD_ENV,
        render('etcd/etcd.env.hbs', {
          name: self.hostname,
          dataDir: DATA_DIR,
          peerUrl: peerUrl(self.address),
          // Reachable beyond this server only while proxies need it (more than 5 servers).
          clientUrl: hasProxies(cluster) ? clientUrl(self.address) : false,
          peerCert: PEER_CERT,
          peerKey: PEER_KEY,
          caCert: CA_CERT,
          initialEnvFile: INITIAL_ENV,
        }),
        { notify: restart },
      ),
      files.file(
        DROP_IN,
        render('etcd/override.conf.hbs', { initialEnvFile: INITIAL_ENV, timeoutStartSec: 300 }),
      ),
      // Idempotent: only when systemd says the unit files changed.
      shell.command(
        'Reload systemd units',
        // A new drop-in does not set NeedDaemonReload: check that systemd has loaded ours too.
        `[ "$(systemctl show etcd -p NeedDaemonReload --value)" != yes ] && systemctl show etcd -p DropInPaths --value | grep -qw ${DROP_IN}`,
        'systemctl daemon-reload',
      ),
      ...tail,
      shell.command('Enable etcd', 'systemctl is-enabled -q etcd', 'systemctl enable -q etcd'),
    ],
  };
}

function afterStart(): Phase['steps'] {
  return [
    shell.command('Wait for the etcd cluster', settled(HEALTHY), waitHealthy(180)),
    // Idempotent: written only when etcd's copy differs from the files.
    // (Probed before etcd runs on a first install: ask only a healthy member, or etcdctl waits.)
    shell.command(
      'Keep the cluster CA in etcd',
      settled(`${HEALTHY} && ${CA_IN_ETCD_CHECK}`),
      CA_IN_ETCD_PUT,
    ),
  ];
}

/**
 * Waits until the server starting a new cluster has finished its start (healthy, and the CA
 * stored: a join before that would take its quorum away while it writes).
 */
async function bootstrapped(ctx: HostContext, on: ClusterServer): Promise<void> {
  const script = `if ${HEALTHY} && ${CA_IN_ETCD_CHECK}; then echo ready; fi`;
  for (let i = 0; i < 360; i++) {
    const res = await ctx.transport.run(on.target, script, { what: 'etcd bootstrap' });
    if (res.stdout.trim() === 'ready') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new ShoestringError(
    `${ctx.self.server.spec}: ${on.server.spec} did not start the etcd cluster within 3 minutes`,
  );
}

/** Runs `member add` for self on a healthy member (unless listed already); returns the member list. */
async function memberAdd(ctx: HostContext, on: ClusterServer): Promise<string> {
  const t = ctx.transport;
  const self = ctx.self;
  const list = async () => {
    const res = await t.run(on.target, ETCD_QUERY_SCRIPT, { what: 'etcd member list' });
    return parseEtcdAnswer(splitSections(res.stdout)).members ?? [];
  };
  let members = await list();
  const listed = () => members.some((m) => m.peerUrls.some((u) => urlHost(u) === self.address));
  for (let attempt = 1; !listed(); attempt++) {
    const res = await t.run(
      on.target,
      `ETCDCTL_API=3 etcdctl --command-timeout=10s member add ${q(self.hostname)} --peer-urls=${q(peerUrl(self.address))}`,
      { what: `etcd member add ${self.hostname}`, allowFailure: true },
    );
    members = await list();
    if (res.code !== 0 && !listed()) {
      // "unhealthy cluster" right after another join: etcd wants every voting member connected
      // for 5 s before it accepts the next one (strict reconfig check). Retry each second.
      if (attempt >= 30) {
        throw new ShoestringError(
          `${self.server.spec}: etcd member add failed on ${on.server.spec}: ${res.stderr.trim()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return joinInitialCluster(members, { name: self.hostname, address: self.address });
}

export function startPhases(ctx: HostContext, cluster: EtcdCluster): (() => Promise<Phase[]>)[] {
  const role = cluster.plan.roles.get(ctx.self.hostname);
  if (!role) throw new ShoestringError(`etcd: ${ctx.self.server.spec} has no planned role`);
  // The proxy was started by its configuration phase; wait until it reaches the cluster.
  if (role.kind === 'proxy') return [async () => [{ title: 'Start etcd', steps: afterStart() }]];
  if (role.kind === 'bootstrap') {
    const initial = writeInitialEnv(cluster.plan.initialCluster, 'new', cluster.token);
    return [
      async () => [
        {
          title: 'Start etcd',
          steps: [
            // Idempotent: only before this member's first start (its data dir is empty).
            shell.command(
              'Bootstrap the etcd cluster',
              `[ -d ${DATA_DIR}/member ]`,
              `${initial}\nsystemctl start --no-block etcd`,
            ),
            ...afterStart(),
          ],
        },
      ],
    ];
  }
  if (role.kind === 'member') {
    const marker = restartMarker('etcd');
    return [
      async () => {
        // A configuration change left a restart to do: take the cluster-wide turn first.
        if (!ctx.dryRun) {
          const res = await ctx.transport.run(
            ctx.self.target,
            `if [ -e ${marker} ]; then echo yes; fi`,
            {
              what: 'etcd restart pending',
            },
          );
          if (res.stdout.trim() === 'yes') await takeTurn(ctx);
        }
        return [
          {
            title: 'Start etcd',
            steps: [
              shell.command(
                'Start etcd',
                'systemctl is-active -q etcd',
                'systemctl start --no-block etcd',
              ),
              shell.command(
                'Restart etcd for its new configuration (one member at a time)',
                `[ ! -e ${marker} ]`,
                `systemctl restart etcd\n${waitHealthy(180)}\nrm -f ${marker}`,
              ),
              ...afterStart(),
            ],
          },
        ];
      },
      async () => {
        endTurn(ctx);
        return [];
      },
    ];
  }
  // Joining: one host at a time, from `member add` until the new member runs.
  return [
    async () => {
      // The member to add this server on: a healthy one, or the one starting a new cluster.
      const on =
        cluster.healthy ??
        ctx.servers.find((s) => cluster.plan.roles.get(s.hostname)?.kind === 'bootstrap');
      if (!on) throw new ShoestringError('etcd: no healthy member to add this server to');
      let initialCluster = '(from etcd member add)';
      // Idempotent: a member that is already healthy does not join again.
      const probe = await ctx.transport.run(ctx.self.target, `if ${HEALTHY}; then echo yes; fi`, {
        what: 'etcd health',
      });
      const already = probe.stdout.trim() === 'yes';
      if (!ctx.dryRun && !already) {
        await takeTurn(ctx);
        if (!cluster.healthy) await bootstrapped(ctx, on);
        initialCluster = await memberAdd(ctx, on);
      }
      return [
        {
          title: 'Join etcd',
          steps: [
            shell.command(
              'Join the etcd cluster',
              HEALTHY,
              [
                'systemctl stop etcd || true',
                `rm -rf ${DATA_DIR}`,
                writeInitialEnv(initialCluster, 'existing', cluster.token),
                // Type=notify: returns once the member has joined.
                'systemctl start etcd',
              ].join('\n'),
            ),
            ...afterStart(),
          ],
        },
      ];
    },
    async () => {
      endTurn(ctx);
      return [];
    },
  ];
}

/**
 * Gate: the local member (or proxy) is healthy and the cluster has a leader (retried for a
 * while). A proxy's /health is the cluster's: it answers true once a voter committed a read.
 */
export async function etcdGate(ctx: HostContext): Promise<void> {
  const script = `${HEALTHY} && echo '@@health' && echo ok\n${ETCD_QUERY_SCRIPT}`;
  let why = '';
  let proxy = false;
  for (let i = 0; i < 120; i++) {
    const res = await ctx.transport.run(ctx.self.target, script, {
      what: 'etcd gate',
      allowFailure: true,
    });
    const sec = splitSections(res.stdout);
    const { role, status } = parseEtcdAnswer(sec);
    if (sec.get('health') === 'ok' && status && status.leaderId !== '0') return;
    proxy = role === 'proxy';
    const who = proxy ? 'the etcd proxy' : 'the member';
    why = !status ? `${who} does not answer` : `${who} is not healthy or sees no leader`;
    await new Promise((r) => setTimeout(r, 500));
  }
  const unit = proxy ? PROXY_SERVICE : 'etcd';
  throw new GateError(`${ctx.self.server.spec}: etcd gate: ${why}`, {
    hint: `look at: journalctl -u ${unit} on ${ctx.self.server.spec}`,
  });
}

export const etcd: Component = {
  name: 'etcd',
  description: 'etcd cluster (static bootstrap, TLS peers, client API on localhost)',
  async prepare(ctx) {
    prepared.set(ctx.servers, await prepareEtcd(ctx));
  },
  phases(ctx) {
    const cluster = clusterOf(ctx);
    return [installPhase(), configPhase(ctx, cluster), ...startPhases(ctx, cluster)];
  },
  // A host that failed mid-change never reached the phase that ends its turn.
  hostDone: endTurn,
  gate: etcdGate,
  teardown: etcdTeardown,
};
