/**
 * etcd on servers beyond the voting members (etcd advises at most 5): no member here, but a
 * local gRPC proxy on 127.0.0.1:2379 that forwards to the voters' client API over TLS, with a
 * client certificate from the cluster CA. Everything that asks etcd on a server (the health
 * check, the CA copy, apps) works the same through it. A member that was a proxy before has
 * its proxy retired before etcd starts (`retireProxy`).
 */
import { DATA_DIR, type EtcdCluster } from '../etcd/cluster.ts';
import { clientUrl } from '../etcd/membership.ts';
import { CA_CERT, ISSUE_PROXY_CERT, PROXY_CERT, PROXY_CERT_VALID, PROXY_KEY } from '../etcd/pki.ts';
import { PROXY_ENV } from '../etcd/remote.ts';
import type { Notify, Phase, Step } from '../plan/steps.ts';
import { files, shell, systemd } from '../plan/steps.ts';
import { render } from '../templates.ts';

export const PROXY_SERVICE = 'shoestring-etcd-proxy';
export const PROXY_UNIT = `/etc/systemd/system/${PROXY_SERVICE}.service`;
const PROXY_DATA_DIR = '/var/lib/etcd/shoestring-proxy';

/** ETCD_PROXY_ENDPOINTS: the voters' client URLs, in servers.txt order. */
export function proxyEndpoints(cluster: EtcdCluster): string {
  return cluster.plan.voters.map((v) => clientUrl(v.address)).join(',');
}

/**
 * The proxy's configuration and start. `common` are the steps every server has: the CA files
 * (`ca`, first) and the leftovers of Debian's install and the leader helper (`tail`).
 */
export function proxyConfigPhase(
  cluster: EtcdCluster,
  common: { readonly ca: readonly Step[]; readonly tail: readonly Step[] },
): Phase {
  const restart: Notify[] = [{ service: PROXY_SERVICE, action: 'restart' }];
  return {
    title: 'Configure the etcd proxy',
    steps: [
      ...common.ca,
      shell.command(
        'Issue the etcd proxy certificate',
        PROXY_CERT_VALID,
        ISSUE_PROXY_CERT,
        restart,
      ),
      // Debian enables etcd on install: on a proxy it would start a one-member cluster of its
      // own on 127.0.0.1:2379 at the next boot. Masked, so nothing starts it by accident. Data
      // of an earlier membership (this server was removed from the cluster) goes too: a member
      // list without this server is what made it a proxy.
      shell.command(
        'Keep etcd from running here',
        `[ "$(systemctl is-enabled etcd 2>/dev/null)" = masked ] && ! systemctl is-active -q etcd && [ ! -e ${DATA_DIR} ]`,
        `systemctl stop etcd 2>/dev/null || true\nsystemctl mask -q etcd\nrm -rf ${DATA_DIR}`,
      ),
      files.file(PROXY_ENV, render('etcd/proxy.env.hbs', { endpoints: proxyEndpoints(cluster) }), {
        notify: restart,
      }),
      files.file(
        PROXY_UNIT,
        render('etcd/proxy.service.hbs', {
          envFile: PROXY_ENV,
          caCert: CA_CERT,
          cert: PROXY_CERT,
          key: PROXY_KEY,
          dataDir: PROXY_DATA_DIR,
        }),
        { notify: restart },
      ),
      shell.command(
        'Reload systemd units',
        `[ "$(systemctl show ${PROXY_SERVICE} -p LoadState --value)" = loaded ] && [ "$(systemctl show ${PROXY_SERVICE} -p NeedDaemonReload --value)" != yes ]`,
        'systemctl daemon-reload',
      ),
      ...common.tail,
      systemd.service(PROXY_SERVICE),
    ],
  };
}

/** For a member: a proxy left from when this server did not vote is stopped and removed. */
export function retireProxy(): Step {
  return shell.command(
    'Retire the etcd proxy (this server votes now)',
    `[ ! -e ${PROXY_UNIT} ] && [ ! -e ${PROXY_ENV} ]`,
    `${REMOVE_PROXY}\nsystemctl daemon-reload`,
  );
}

/** Shell lines removing a proxy and everything it left (teardown). */
export const REMOVE_PROXY = [
  `systemctl disable --now -q ${PROXY_SERVICE} 2>/dev/null || true`,
  `rm -rf ${PROXY_UNIT} ${PROXY_ENV} ${PROXY_CERT} ${PROXY_KEY} ${PROXY_DATA_DIR}`,
  'systemctl unmask -q etcd 2>/dev/null || true',
].join('\n');
