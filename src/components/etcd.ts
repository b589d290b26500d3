/**
 * etcd: a static cluster from servers.txt on the private addresses, peers and clients over TLS
 * with certificates from the cluster CA (beyond 5 servers, the others reach it through a local
 * proxy; root everywhere has a client certificate and a ready etcdctl). Bootstrap starts
 * every member without waiting (Type=notify blocks until a quorum exists); later, a new server
 * joins (`member add`, then start with state existing), one at a time. Gate: this member (or
 * proxy) is healthy and a leader exists.
 */
import { DATA_DIR, ETCD_SURVEY, prepareEtcd, type EtcdCluster } from '../etcd/cluster.ts';
import { peerUrl } from '../etcd/membership.ts';
import { PKI_DIR } from '../etcd/pki.ts';
import {
  ETCD_CLIENT,
  ETCD_QUERY_SCRIPT,
  ETCDCTL,
  etcdctl,
  parseEtcdAnswer,
  PROXY_ENV,
} from '../etcd/remote.ts';
import type { Gate, Phase } from '../plan/phase.ts';
import { section, textSections } from '../plan/sections.ts';
import { apt, files, shell, systemd } from '../plan/steps/index.ts';
import { q } from '../ssh/quote.ts';
import {
  configPhase,
  DROP_IN,
  ETCD_ENV,
  ETCDCTL_WRAPPER,
  INITIAL_ENV,
  LEADER_HELPER,
} from './etcd-config.ts';
import { HEALTHY } from './etcd-health.ts';
import { PROXY_SERVICE, retireProxy } from './etcd-proxy.ts';
import { startPhases } from './etcd-start.ts';
import type { Component, HostContext } from './types.ts';

export const ETCD_PACKAGES = ['etcd-server', 'etcd-client', 'openssl'] as const;

export function installPhase(): Phase {
  return {
    title: 'Install etcd',
    // etcd-server's postinst would start a one-member cluster: keep it from starting.
    steps: [apt.packages(ETCD_PACKAGES, { noStart: true })],
  };
}

/**
 * Gate: the local member (or proxy) is healthy and the cluster has a leader. A proxy's /health
 * is the cluster's: it answers true once a voter committed a read.
 */
export function etcdGate(ctx: HostContext): Gate {
  return {
    title: 'etcd gate',
    probe: [
      `if ${HEALTHY}; then ${section('health')}; echo ok; fi`,
      ETCD_QUERY_SCRIPT,
      // The unit that serves etcd here: masked or failed, nothing will start it again.
      `if [ -s ${PROXY_ENV} ]; then u=${PROXY_SERVICE}; else u=etcd; fi`,
      `${section('unit')}; echo "$u $(systemctl is-enabled "$u" 2>/dev/null) $(systemctl show -p ActiveState --value "$u" 2>/dev/null)"`,
    ].join('\n'),
    verdict: (out) => {
      const sec = textSections(out);
      const { role, status } = parseEtcdAnswer(sec);
      if (sec.get('health') === 'ok' && status && status.leaderId !== '0') return undefined;
      const who = role === 'proxy' ? 'the etcd proxy' : 'the member';
      return !status ? `${who} does not answer` : `${who} is not healthy or sees no leader`;
    },
    hopeless: (out) => unitHopeless(textSections(out).get('unit') ?? ''),
    hint: `look at: journalctl -u etcd (or -u ${PROXY_SERVICE}) on ${ctx.self.server.spec}`,
    seconds: 60,
  };
}

/** `<unit> <is-enabled> <ActiveState>`: why waiting for the unit cannot help, if it cannot. */
export function unitHopeless(line: string): string | undefined {
  const [unit = '', enabled = '', active = ''] = line.trim().split(/\s+/);
  if (enabled.startsWith('masked'))
    return `${unit} is masked: nothing will start it (systemctl unmask ${unit})`;
  if (active === 'failed') return `${unit} failed and systemd will not start it again`;
  return undefined;
}

/**
 * Teardown: leave the etcd cluster first (member remove, from this member: the others keep
 * quorum), then stop etcd (or this server's etcd proxy) and wipe its data, so the server could
 * rejoin later as a new member.
 */
function teardown(ctx: HostContext): Phase[] {
  const url = peerUrl(ctx.self.private);
  const members = `${ETCDCTL} --dial-timeout=3s member list 2>/dev/null`;
  const myId = `${members} | awk -F', ' -v u=${q(url)} '$4 == u {print $1}'`;
  return [
    {
      title: 'Leave the etcd cluster',
      steps: [
        // Idempotent: only while etcd runs here, lists this member, and has other members.
        shell.command(
          'Remove this member from the etcd cluster',
          `! systemctl is-active -q etcd || [ -z "$(${myId})" ] || [ "$(${members} | grep -c .)" -le 1 ]`,
          // Asked of the other members: this one stops as soon as it is removed, and asked
          // itself it may answer "server stopped" for a removal that happened.
          [
            `id="$(${myId})"`,
            `others="$(${members} | awk -F', ' -v u=${q(url)} '$4 != u && $5 != "" {print $5}' | paste -sd, -)"`,
            `${etcdctl(`"\${others:-${ETCD_CLIENT}}"`)} --dial-timeout=3s member remove "$id" >/dev/null`,
          ].join('\n'),
        ),
        ...retireProxy(),
        systemd.service('etcd', { enabled: false, running: false }),
        files.absent(DATA_DIR),
        files.absent(PKI_DIR),
        files.absent(INITIAL_ENV),
        files.absent(DROP_IN),
        files.absent(LEADER_HELPER),
        files.absent(ETCDCTL_WRAPPER),
        files.file(ETCD_ENV, ''),
        systemd.daemonReload([{ unit: 'etcd', files: [DROP_IN] }]),
      ],
    },
  ];
}

export const etcd: Component<EtcdCluster> = {
  name: 'etcd',
  description: 'etcd cluster (static bootstrap, TLS peers and clients on the private addresses)',
  survey: ETCD_SURVEY,
  prepare: prepareEtcd,
  phases: (ctx, cluster) => [
    installPhase(),
    configPhase(ctx, cluster),
    ...startPhases(ctx, cluster),
  ],
  gates: (ctx) => [etcdGate(ctx)],
  teardown,
};
