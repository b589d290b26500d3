/**
 * etcd's configuration phase: the CA files, root's client certificate and etcdctl wrapper, this
 * server's member certificate, the environment file and the systemd drop-in. A running member
 * restarts for a changed configuration while holding the cluster-wide etcd turn (one member at
 * a time, so the cluster keeps its quorum), and is healthy again before the turn passes on.
 */
import { DATA_DIR, type EtcdCluster } from '../etcd/cluster.ts';
import { clientUrl, peerUrl } from '../etcd/membership.ts';
import {
  CA_CERT,
  CA_KEY,
  CLIENT_CERT,
  CLIENT_CERT_VALID,
  CLIENT_KEY,
  ISSUE_CLIENT_CERT,
  PEER_CERT,
  PEER_KEY,
  PKI_DIR,
  issuePeerCert,
  peerCertValid,
} from '../etcd/pki.ts';
import { ETCD_CLIENT, ETCD_METRICS, PROXY_ENV } from '../etcd/remote.ts';
import { WG_SERVICE } from '../network/wireguard.ts';
import { usesWireGuard } from './network.ts';
import type { Phase } from '../plan/phase.ts';
import { files, shell, systemd, type Notify, type Step } from '../plan/steps/index.ts';
import { render } from '../templates.ts';
import { proxyConfigPhase, retireProxy } from './etcd-proxy.ts';
import { waitHealthy } from './etcd-health.ts';
import type { HostContext } from './types.ts';

export const ETCD_ENV = '/etc/default/etcd';
export const INITIAL_ENV = '/etc/shoestring/etcd-initial.env';
export const LEADER_HELPER = '/usr/local/bin/am-i-the-leader';
/** Root's etcdctl, ready to use (precedes /usr/bin in PATH). */
export const ETCDCTL_WRAPPER = '/usr/local/bin/etcdctl';
export const DROP_IN = '/etc/systemd/system/etcd.service.d/shoestring.conf';

/** A member's restart for a new configuration: one at a time, healthy before the next. */
export const MEMBER_RESTART: Notify = {
  service: 'etcd',
  action: 'restart',
  turn: 'etcd',
  settle: waitHealthy(180),
};

/**
 * The CA files every server has (the CA is made before any host runs), and root's client
 * certificate. Group etcd may enter the directory (etcd reads its own key); nobody else may.
 */
function caSteps(cluster: EtcdCluster): Step[] {
  const ca = cluster.ca ?? { cert: '(made on the first run)\n', key: '(made on the first run)\n' };
  return [
    files.directory(PKI_DIR, { mode: '0750', group: 'etcd' }),
    files.file(CA_CERT, ca.cert, { mode: '0644' }),
    files.file(CA_KEY, ca.key, { mode: '0600', secret: true }),
    // Idempotent: re-issued only when missing or not from this CA.
    shell.command("Issue root's etcd client certificate", CLIENT_CERT_VALID, ISSUE_CLIENT_CERT),
  ];
}

/**
 * Steps every server has after its role's own: Debian's leftovers, root's etcdctl wrapper, the
 * leader helper.
 */
function tailSteps(): Step[] {
  return [
    // A one-member cluster left by an earlier install without Shoestring: wiped once.
    shell.command(
      'Remove the default one-member etcd data',
      '[ ! -e /var/lib/etcd/default ]',
      `if [ ! -d ${DATA_DIR}/member ]; then systemctl stop etcd || true; fi\nrm -rf /var/lib/etcd/default`,
    ),
    files.file(
      ETCDCTL_WRAPPER,
      render('etcd/etcdctl.hbs', {
        endpoints: ETCD_CLIENT,
        caCert: CA_CERT,
        cert: CLIENT_CERT,
        key: CLIENT_KEY,
        etcdctl: '/usr/bin/etcdctl',
      }),
      { mode: '0755' },
    ),
    // The on-server leader check (servers have Python, not Node); see am-i-the-leader.ts.
    files.file(
      LEADER_HELPER,
      render('etcd/am-i-the-leader.py.hbs', {
        proxyEnv: PROXY_ENV,
        client: ETCD_CLIENT,
        caCert: CA_CERT,
        cert: CLIENT_CERT,
        key: CLIENT_KEY,
      }),
      { mode: '0755' },
    ),
  ];
}

export function configPhase(ctx: HostContext, cluster: EtcdCluster): Phase {
  const { self } = ctx;
  const role = cluster.plan.roles.get(self.hostname);
  if (role?.kind === 'proxy')
    return proxyConfigPhase(cluster, { ca: caSteps(cluster), tail: tailSteps() });
  // A new member is started by the start phases anyway: only a running member restarts.
  const restart: Notify[] = role?.kind === 'member' ? [MEMBER_RESTART] : [];
  return {
    title: 'Configure etcd',
    steps: [
      ...caSteps(cluster),
      // Idempotent: re-issued only when missing, not from this CA, or missing a name.
      shell.command(
        'Issue the etcd peer certificate',
        peerCertValid(self.hostname, self.private),
        issuePeerCert(self.hostname, self.private),
        restart,
      ),
      ...retireProxy(),
      files.file(
        ETCD_ENV,
        render('etcd/etcd.env.hbs', {
          name: self.hostname,
          dataDir: DATA_DIR,
          peerUrl: peerUrl(self.private),
          localClientUrl: ETCD_CLIENT,
          clientUrl: clientUrl(self.private),
          metricsUrl: ETCD_METRICS,
          peerCert: PEER_CERT,
          peerKey: PEER_KEY,
          caCert: CA_CERT,
          initialEnvFile: INITIAL_ENV,
        }),
        { notify: restart },
      ),
      files.file(
        DROP_IN,
        render('etcd/override.conf.hbs', {
          initialEnvFile: INITIAL_ENV,
          timeoutStartSec: 300,
          meshService: usesWireGuard(ctx) ? `${WG_SERVICE}.service` : false,
        }),
        { notify: restart },
      ),
      systemd.daemonReload([{ unit: 'etcd', files: [DROP_IN] }]),
      ...tailSteps(),
      systemd.service('etcd', { enabled: true, running: 'leave' }),
    ],
  };
}
