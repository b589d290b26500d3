/**
 * Teardown scripts for scripts/destroy.ts: each removes one component from a server, tolerating
 * a half-installed one. Packages stay installed; configuration, state and services go.
 */
import { peerUrl } from '../etcd/membership.ts';
import { q } from '../ssh/quote.ts';
import type { HostContext } from './types.ts';
import { APPS_DIR, VENVS_DIR } from './apps.ts';
import { ETCD_ENV, INITIAL_ENV, DROP_IN, LEADER_HELPER } from './etcd.ts';
import { REMOVE_PROXY } from './etcd-proxy.ts';
import { DATA_DIR } from '../etcd/cluster.ts';
import { PKI_DIR } from '../etcd/pki.ts';
import { HEALTH_DIR, VASSALS_DIR } from './uwsgi.ts';
import { MAINTENANCE_DIR } from './web.ts';

const stopAndDisable = (unit: string): string =>
  `if systemctl list-unit-files ${q(`${unit}.service`)} >/dev/null 2>&1; then systemctl disable --now ${q(unit)} >/dev/null 2>&1 || true; fi`;

async function run(ctx: HostContext, what: string, script: string): Promise<void> {
  await ctx.transport.run(ctx.self.target, script, { what });
}

/** Stop the vassals (they unsubscribe from every server's router on the way out). */
export function appsTeardown(ctx: HostContext): Promise<void> {
  return run(
    ctx,
    'Remove the apps',
    [
      `rm -f ${VASSALS_DIR}/app-*.ini`,
      // The emperor notices within a few seconds; give the vassals time to unsubscribe.
      `for i in $(seq 1 20); do pgrep -f ${q(`${APPS_DIR}/`)} >/dev/null || break; sleep 0.5; done`,
      `rm -rf ${q(APPS_DIR)} ${q(VENVS_DIR)}`,
    ].join('\n'),
  );
}

export function uwsgiTeardown(ctx: HostContext): Promise<void> {
  return run(
    ctx,
    'Remove the uWSGI emperor and fastrouter',
    [
      stopAndDisable('uwsgi-emperor'),
      `rm -f ${VASSALS_DIR}/fastrouter.ini ${VASSALS_DIR}/shoestring-health.ini`,
      `rm -rf ${q(HEALTH_DIR)}`,
    ].join('\n'),
  );
}

export function webTeardown(ctx: HostContext): Promise<void> {
  return run(
    ctx,
    'Remove the web front',
    [
      `rm -f /etc/apache2/sites-enabled/shoestring.conf /etc/apache2/sites-available/shoestring.conf`,
      `rm -f /etc/nginx/sites-enabled/shoestring /etc/nginx/sites-available/shoestring`,
      stopAndDisable('apache2'),
      stopAndDisable('nginx'),
      `rm -rf ${q(MAINTENANCE_DIR)}`,
    ].join('\n'),
  );
}

/**
 * Leave the etcd cluster first (member remove, from this member: the others keep quorum), then
 * stop etcd (or this server's etcd proxy) and wipe its data, so the server could rejoin later
 * as a new member.
 */
export function etcdTeardown(ctx: HostContext): Promise<void> {
  const url = peerUrl(ctx.self.address);
  return run(
    ctx,
    'Leave the etcd cluster',
    [
      `export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=http://127.0.0.1:2379 ETCDCTL_DIAL_TIMEOUT=3s`,
      `if systemctl is-active -q etcd && command -v etcdctl >/dev/null; then`,
      `  members=$(etcdctl member list 2>/dev/null || true)`,
      `  id=$(printf '%s\\n' "$members" | awk -F', ' -v u=${q(url)} '$4 == u {print $1}')`,
      `  count=$(printf '%s\\n' "$members" | grep -c . || true)`,
      `  if [ -n "$id" ] && [ "$count" -gt 1 ]; then etcdctl member remove "$id" >/dev/null; fi`,
      `fi`,
      REMOVE_PROXY,
      stopAndDisable('etcd'),
      `rm -rf ${q(DATA_DIR)} ${q(PKI_DIR)} ${q(INITIAL_ENV)} ${q(DROP_IN)} ${q(LEADER_HELPER)}`,
      `: > ${q(ETCD_ENV)}`,
      `systemctl daemon-reload`,
    ].join('\n'),
  );
}
