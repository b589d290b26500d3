/**
 * The local database proxy on every server (HAProxy, as seed 001 uses it): apps connect to
 * 127.0.0.1:3306 and reach this server's own member while it is Synced, else the next healthy
 * member in db-servers order (HAProxy's `backup` servers, the first healthy one used). Each
 * member's health comes from its check service (200 only while Synced in a primary component).
 */
import type { Gate, Phase } from '../plan/phase.ts';
import { apt, files, systemd } from '../plan/steps/index.ts';
import { render } from '../templates.ts';
import { TIDB_PORTS } from '../database/tidb-topology.ts';
import { PORTS } from './ports.ts';
import type { ClusterServer, HostContext } from './types.ts';

export const HAPROXY_CFG = '/etc/haproxy/haproxy.cfg';
/**
 * The app instances (uWSGI emperor) start after the proxy and stop before it: at a shutdown
 * they leave every router while their database is still reachable (else requests routed to
 * them in between fail with "can't connect").
 */
export const EMPEROR_AFTER_PROXY =
  '/etc/systemd/system/uwsgi-emperor.service.d/shoestring-database.conf';
/** Check timing: down after FALL failures INTER ms apart (with a 1 s check timeout). */
export const CHECK_INTER_MS = 1000;
export const CHECK_FALL = 2;

/** This server's member first (when it has one), then the others in db-servers order. */
export function proxyOrder(
  self: ClusterServer,
  members: readonly ClusterServer[],
): ClusterServer[] {
  const own = members.filter((m) => m === self);
  return [...own, ...members.filter((m) => m !== self)];
}

export function haproxyConfig(ctx: HostContext): string {
  const order = proxyOrder(ctx.self, ctx.database.members);
  const tidb = ctx.config.database === 'tidb';
  return render('database/haproxy.cfg.hbs', {
    listen: '127.0.0.1',
    port: PORTS.databaseProxy,
    // TiDB: its SQL port, healthy while its status port answers /status.
    memberPort: tidb ? TIDB_PORTS.sql : PORTS.databaseMember,
    checkPort: tidb ? TIDB_PORTS.status : PORTS.databaseCheck,
    checkMethod: 'GET',
    checkUri: tidb ? '/status' : '/',
    inter: CHECK_INTER_MS,
    fastInter: 250,
    fall: CHECK_FALL,
    rise: 2,
    servers: order.map((s, i) => ({ name: s.hostname, address: s.private, backup: i > 0 })),
  });
}

export function proxyPhase(ctx: HostContext): Phase {
  return {
    title: 'Local database proxy',
    steps: [
      apt.packages(['haproxy']),
      files.file(HAPROXY_CFG, haproxyConfig(ctx), {
        validate: `haproxy -c -q -f ${HAPROXY_CFG}`,
        notify: [{ service: 'haproxy', action: 'reload' }],
      }),
      systemd.service('haproxy'),
      files.file(EMPEROR_AFTER_PROXY, render('database/emperor-after-proxy.conf.hbs', {})),
      systemd.daemonReload([{ unit: 'uwsgi-emperor', files: [EMPEROR_AFTER_PROXY] }]),
    ],
  };
}

/** Gate: a member answers through this server's proxy (MariaDB greets first). */
export function proxyGate(ctx: HostContext): Gate {
  return {
    title: 'database proxy gate',
    probe: `timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${PORTS.databaseProxy}; head -c 4 <&3 | wc -c' 2>/dev/null || echo 0`,
    verdict: (out) =>
      Number(out.trim()) >= 4 ? undefined : 'no database member answers through the local proxy',
    hint: `look at: journalctl -u haproxy on ${ctx.self.server.spec}; scripts/status.ts`,
    seconds: 120,
  };
}
