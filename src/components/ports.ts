/** Local ports the stack uses, in one place (templates get them as values). */
export const PORTS = {
  /** uWSGI fastrouter (uwsgi protocol) the web front proxies to. */
  fastrouter: 3017,
  /** fastrouter stats (JSON, TCP). */
  fastrouterStats: 3018,
  /** uWSGI emperor stats (JSON, TCP). */
  emperorStats: 3019,
  /** The health vassal behind /healthz. */
  health: 3020,
  /** Subscription server (UDP) on each server's own address: vassals announce themselves here. */
  subscription: 7000,
  /** The local database proxy (HAProxy) on 127.0.0.1: apps connect here. */
  databaseProxy: 3306,
  /** A database member's SQL port, on its private address. */
  databaseMember: 3306,
  /** Galera group communication, incremental and full state transfer (private address). */
  galeraGroup: 4567,
  galeraIst: 4568,
  galeraSst: 4444,
  /** A database member's health check for the proxies (HTTP, private address). */
  databaseCheck: 9200,
  /** App vassals get ports from here up (see apps/discover.ts). */
  appsFrom: 3100,
} as const;
