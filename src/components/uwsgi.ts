/**
 * uWSGI: the emperor as a systemd service (Debian's uwsgi-emperor unit), the fastrouter vassal
 * on 127.0.0.1:3017 with this server's subscription server on :7000, and the health vassal
 * behind /healthz. Vassal files are reloaded by the emperor when they change (mtime).
 */
import { ETCD_HEALTH_URL } from '../etcd/remote.ts';
import type { Phase } from '../plan/phase.ts';
import { apt, files, systemd } from '../plan/steps/index.ts';
import { render } from '../templates.ts';
import { PORTS } from './ports.ts';
import type { Component, HostContext } from './types.ts';

export const VASSALS_DIR = '/etc/uwsgi-emperor/vassals';
export const HEALTH_DIR = '/srv/shoestring/health';
/**
 * Seconds the fastrouter waits on a connect or read (default 60). It is also the client side's
 * timeout, and both timers expire in the same second: a connect to a server that died silently
 * ends the whole request (Apache answers 500, nginx retries, see nginx-site.conf.hbs) and does
 * NOT mark the instance failed (uWSGI 2.0.21 corerouter.c). So the tolerance below, not this,
 * decides how long a silently dead server keeps getting requests. Not lower than a live app's
 * slow answer: a database write waits while Galera decides a silent member is gone (about 3 s
 * plus the view change); 3 s here cut those writes off (measured, BENCHMARKS.md).
 */
export const FASTROUTER_TIMEOUT = 8;
/**
 * Seconds between an instance's announcements to every fastrouter (uWSGI's default: 10). One
 * small UDP datagram per app, per server, per second.
 */
export const ANNOUNCE_EVERY = 1;
/**
 * Seconds after which a fastrouter forgets an instance it has not heard from (default 17). The
 * check is in whole seconds and made at lookup, so a silently dead server stops getting requests
 * about tolerance + 1 s after its last announcement (measured: 8 s → failures until ~8.7 s, 3 s →
 * until ~4 s; BENCHMARKS.md). 3 lets two announcements in a row be lost before a live instance is
 * dropped, and a dropped live instance is back at its next announcement.
 */
export const SUBSCRIPTION_TOLERANCE = 3;

export const UWSGI_PACKAGES = ['uwsgi-emperor', 'uwsgi-core', 'uwsgi-plugin-python3'] as const;

export function uwsgiPhase(ctx: HostContext): Phase {
  return {
    title: 'uWSGI emperor and fastrouter',
    steps: [
      // Not started on install: the first start already uses our emperor.ini.
      apt.packages(UWSGI_PACKAGES, { noStart: true }),
      files.file(
        '/etc/uwsgi-emperor/emperor.ini',
        render('uwsgi/emperor.ini.hbs', {
          vassalsDir: VASSALS_DIR,
          emperorStatsPort: PORTS.emperorStats,
        }),
        { notify: [{ service: 'uwsgi-emperor', action: 'restart' }] },
      ),
      files.directory(VASSALS_DIR),
      files.file(
        `${VASSALS_DIR}/fastrouter.ini`,
        render('uwsgi/fastrouter.ini.hbs', {
          fastrouterPort: PORTS.fastrouter,
          address: ctx.self.private,
          subscriptionPort: PORTS.subscription,
          timeout: FASTROUTER_TIMEOUT,
          announceEvery: ANNOUNCE_EVERY,
          tolerance: SUBSCRIPTION_TOLERANCE,
          statsPort: PORTS.fastrouterStats,
        }),
      ),
      files.directory('/srv/shoestring'),
      files.directory(HEALTH_DIR),
      files.file(
        `${HEALTH_DIR}/health.py`,
        render('uwsgi/health.py.hbs', { etcdHealthUrl: ETCD_HEALTH_URL }),
      ),
      files.file(
        `${VASSALS_DIR}/shoestring-health.ini`,
        render('uwsgi/health.ini.hbs', {
          healthPort: PORTS.health,
          healthFile: `${HEALTH_DIR}/health.py`,
          statsPort: PORTS.fastrouterStats,
          emperorStatsPort: PORTS.emperorStats,
        }),
      ),
      systemd.service('uwsgi-emperor'),
    ],
  };
}

export const uwsgi: Component = {
  name: 'uwsgi',
  description: 'uWSGI emperor, fastrouter (:3017, subscriptions on :7000), health vassal',
  phases: (ctx) => [uwsgiPhase(ctx)],
  teardown: () => [
    {
      title: 'Remove the uWSGI emperor and fastrouter',
      steps: [
        systemd.service('uwsgi-emperor', { enabled: false, running: false }),
        files.absent(`${VASSALS_DIR}/fastrouter.ini`),
        files.absent(`${VASSALS_DIR}/shoestring-health.ini`),
        files.absent(HEALTH_DIR),
      ],
    },
  ],
};
