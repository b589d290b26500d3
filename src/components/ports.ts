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
  /** App vassals get ports from here up (see apps/discover.ts). */
  appsFrom: 3100,
} as const;
