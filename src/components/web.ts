/**
 * The web front: Apache (mod_proxy_uwsgi, the seed's choice) or nginx (uwsgi_pass), proxying
 * DOMAIN and *.DOMAIN on :80 to the local uWSGI fastrouter, /healthz to the health vassal, and
 * showing a maintenance page for errors it makes itself. Switching WEB_SERVER stops and disables
 * the other one before the chosen one starts. Site files are checked by the server's own
 * validator before they stay.
 */
import { LIB_DIR } from '../paths.ts';
import type { WebServer } from '../config/env.ts';
import type { Gate, Phase } from '../plan/phase.ts';
import { apache, apt, files, nginx, systemd, type Notify, type Step } from '../plan/steps/index.ts';
import { NGINX_TLS_SNIPPET, TLS_CERT, TLS_DIR, TLS_KEY } from '../agent/keys.ts';
import { q } from '../ssh/quote.ts';
import { render } from '../templates.ts';
import { PORTS } from './ports.ts';
import type { Component, HostContext } from './types.ts';
import { VASSALS_DIR } from './uwsgi.ts';

export const MAINTENANCE_DIR = '/var/www/shoestring';
const APACHE_SITE = '/etc/apache2/sites-available/shoestring.conf';
const NGINX_SITE = '/etc/nginx/sites-available/shoestring';
const APACHE_MODULES = ['proxy', 'proxy_uwsgi', 'rewrite', 'headers', 'ssl'] as const;
/** Run before the front starts: waits until the fastrouter routes every app (boot, reboot). */
export const WAIT_FOR_ROUTER = `${LIB_DIR}/wait-for-router`;
/**
 * Seconds the front waits at most for its router at start. The instances announce themselves
 * every second: a router that lacks an app this long will not have it soon.
 */
export const ROUTER_WAIT_LIMIT = 30;
const orderDropIn = (service: string): string =>
  `/etc/systemd/system/${service}.service.d/shoestring-router.conf`;

export function webPackages(web: WebServer): string[] {
  return [web === 'apache' ? 'apache2' : 'nginx'];
}

export function serviceOf(web: WebServer): string {
  return web === 'apache' ? 'apache2' : 'nginx';
}

function siteData(domain: string, hostname: string) {
  return {
    domain,
    hostname,
    healthPort: PORTS.health,
    fastrouterPort: PORTS.fastrouter,
    maintenanceDir: MAINTENANCE_DIR,
    tlsDir: TLS_DIR,
    tlsCert: TLS_CERT,
    tlsKey: TLS_KEY,
    nginxTls: NGINX_TLS_SNIPPET,
  };
}

/** Apache's site: the same body in the :80 and (once a certificate exists) :443 vhosts. */
export function apacheSite(domain: string, hostname: string): string {
  const data = siteData(domain, hostname);
  const body = render('web/apache-site-body.conf.hbs', data).replace(/\n$/, '');
  return render('web/apache-site.conf.hbs', { ...data, body });
}

export function nginxSite(domain: string, hostname: string): string {
  return render('web/nginx-site.conf.hbs', siteData(domain, hostname));
}

/** How long a stopping front may take to finish the requests it has (then it is stopped hard). */
export const FRONT_STOP_SECONDS = 20;

/**
 * The front's start waits for the router and its stop comes first (front-order.conf.hbs): a
 * rebooted server refuses connections, which browsers take to the next address at once,
 * instead of answering with the maintenance page while its router has no instance yet. Its
 * stop finishes the requests it has (Apache's own stop did not: see the template).
 */
function startOrder(service: string): Step[] {
  const dropIn = orderDropIn(service);
  return [
    files.directory(LIB_DIR),
    files.file(
      WAIT_FOR_ROUTER,
      render('web/wait-for-router.py.hbs', {
        limit: ROUTER_WAIT_LIMIT,
        statsPort: PORTS.fastrouterStats,
        vassalsDir: VASSALS_DIR,
      }),
      { mode: '0755' },
    ),
    files.file(
      dropIn,
      render('web/front-order.conf.hbs', {
        limit: ROUTER_WAIT_LIMIT,
        waitScript: WAIT_FOR_ROUTER,
        apache: service === 'apache2',
        stopSeconds: FRONT_STOP_SECONDS,
      }),
    ),
    systemd.daemonReload([{ unit: service, files: [dropIn] }]),
  ];
}

export function apacheSteps(domain: string, hostname: string): Step[] {
  const check = 'apache2ctl -t';
  const reload: Notify = { service: 'apache2', action: 'reload', check };
  const restart: Notify = { service: 'apache2', action: 'restart', check };
  return [
    apt.packages(['apache2'], { noStart: true }),
    apache.modules(APACHE_MODULES, [restart]),
    files.file(APACHE_SITE, apacheSite(domain, hostname), {
      notify: [reload],
      validate: check,
    }),
    apache.site('shoestring', true, [reload]),
    apache.site('000-default', false, [reload]),
    ...startOrder('apache2'),
    systemd.service('apache2'),
  ];
}

export function nginxSteps(domain: string, hostname: string): Step[] {
  const reload: Notify = { service: 'nginx', action: 'reload', check: 'nginx -t -q' };
  return [
    apt.packages(['nginx'], { noStart: true }),
    files.file(NGINX_SITE, nginxSite(domain, hostname), {
      notify: [reload],
      validate: 'nginx -t -q',
    }),
    nginx.site('shoestring', true, [reload]),
    nginx.site('default', false, [reload]),
    ...startOrder('nginx'),
    systemd.service('nginx'),
  ];
}

export function webPhase(ctx: HostContext): Phase {
  const { domain, webServer } = ctx.config;
  const other = webServer === 'apache' ? 'nginx' : 'apache2';
  return {
    title: `Web front (${webServer})`,
    steps: [
      // The other front must free port 80 before this one starts (a no-op when not installed).
      systemd.service(other, { enabled: false, running: false }),
      files.directory(MAINTENANCE_DIR),
      // Where the agent installs the cluster certificate (the key inside is 0600 root).
      files.directory(TLS_DIR),
      files.file(
        `${MAINTENANCE_DIR}/maintenance.html`,
        render('web/maintenance.html.hbs', { domain }),
      ),
      ...(webServer === 'apache'
        ? apacheSteps(domain, ctx.self.hostname)
        : nginxSteps(domain, ctx.self.hostname)),
    ],
  };
}

/**
 * Shell printing the status code of GET https://<host><path> through this server's own front
 * once the cluster certificate is installed (plain HTTP redirects then), http:// before. Local
 * and about the answer, not about trust: the certificate is not checked here.
 */
export function localStatus(host: string, path = '/'): string {
  const https = `curl -sk -o /dev/null -m 5 -w '%{http_code}' --resolve ${q(`${host}:443:127.0.0.1`)} ${q(`https://${host}${path}`)}`;
  const http = `curl -s -o /dev/null -m 5 -w '%{http_code}' -H ${q(`Host: ${host}`)} ${q(`http://127.0.0.1${path}`)}`;
  return `{ if [ -s ${TLS_CERT} ]; then ${https}; else ${http}; fi || true; }`;
}

/** `/healthz` through the front answers 200. */
export function webGate(ctx: HostContext): Gate {
  return {
    title: 'web gate',
    probe: `curl -s -o /dev/null -m 5 -w '%{http_code}' http://127.0.0.1/healthz || true`,
    verdict: (out) => {
      const code = out.trim();
      return code === '200' ? undefined : `/healthz answers ${code || 'nothing'}, not 200`;
    },
    hint: `check the front (${serviceOf(ctx.config.webServer)}), uwsgi-emperor and etcd on ${ctx.self.server.spec}`,
    seconds: 60,
  };
}

export const web: Component = {
  name: 'web',
  description: 'web front (apache or nginx) for DOMAIN and *.DOMAIN, /healthz, maintenance page',
  phases: (ctx) => [webPhase(ctx)],
  gates: (ctx) => [webGate(ctx)],
  teardown: () => [
    {
      title: 'Remove the web front',
      steps: [
        files.absent('/etc/apache2/sites-enabled/shoestring.conf'),
        files.absent(APACHE_SITE),
        files.absent('/etc/nginx/sites-enabled/shoestring'),
        files.absent(NGINX_SITE),
        systemd.service('apache2', { enabled: false, running: false }),
        systemd.service('nginx', { enabled: false, running: false }),
        files.absent(orderDropIn('apache2')),
        files.absent(orderDropIn('nginx')),
        files.absent(WAIT_FOR_ROUTER),
        files.absent(MAINTENANCE_DIR),
      ],
    },
  ],
};
