/**
 * etcd on servers beyond the voting members (etcd advises at most 5): no member here, but a
 * local gRPC proxy on 127.0.0.1:2379 that forwards to the voters' client API (on their private
 * addresses) over TLS, with a certificate from the cluster CA. Like a member's, its listener
 * speaks TLS only and requires a client certificate from the CA, and its /health is on the
 * plain-HTTP metrics listener 127.0.0.1:2381. Everything that asks etcd on a server (the health
 * check, the CA copy, root's etcdctl) works the same through it. A member that was a proxy
 * before has its proxy retired before etcd starts (`retireProxy`).
 */
import { DATA_DIR, type EtcdCluster } from '../etcd/cluster.ts';
import { clientUrl } from '../etcd/membership.ts';
import { CA_CERT, ISSUE_PROXY_CERT, PROXY_CERT, PROXY_CERT_VALID, PROXY_KEY } from '../etcd/pki.ts';
import { ETCD_CLIENT, ETCD_METRICS, PROXY_ENV } from '../etcd/remote.ts';
import type { Phase } from '../plan/phase.ts';
import { files, shell, systemd, type Notify, type Step } from '../plan/steps/index.ts';
import { render } from '../templates.ts';

export const PROXY_SERVICE = 'shoestring-etcd-proxy';
export const PROXY_UNIT = `/etc/systemd/system/${PROXY_SERVICE}.service`;
const PROXY_DATA_DIR = '/var/lib/etcd/shoestring-proxy';

/** ETCD_PROXY_ENDPOINTS: the voters' client URLs (private addresses), in servers.txt order. */
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
      systemd.masked('etcd'),
      files.absent(DATA_DIR),
      files.file(PROXY_ENV, render('etcd/proxy.env.hbs', { endpoints: proxyEndpoints(cluster) }), {
        notify: restart,
      }),
      files.file(
        PROXY_UNIT,
        render('etcd/proxy.service.hbs', {
          envFile: PROXY_ENV,
          // host:port, as grpc-proxy wants it.
          listenAddr: new URL(ETCD_CLIENT).host,
          metricsUrl: ETCD_METRICS,
          caCert: CA_CERT,
          cert: PROXY_CERT,
          key: PROXY_KEY,
          dataDir: PROXY_DATA_DIR,
        }),
        { notify: restart },
      ),
      systemd.daemonReload([{ unit: PROXY_SERVICE, files: [PROXY_UNIT] }]),
      ...common.tail,
      systemd.service(PROXY_SERVICE),
    ],
  };
}

/** A proxy gone with everything it left (a member's config phase, and teardown). */
export function retireProxy(): Step[] {
  return [
    systemd.unitAbsent(PROXY_SERVICE, [PROXY_UNIT]),
    files.absent(PROXY_ENV),
    files.absent(PROXY_CERT),
    files.absent(PROXY_KEY),
    files.absent(PROXY_DATA_DIR),
    systemd.masked('etcd', false),
  ];
}
