/**
 * The web front: Apache (mod_proxy_uwsgi, the seed's choice) or nginx (uwsgi_pass), proxying
 * DOMAIN and *.DOMAIN on :80 to the local uWSGI fastrouter, /healthz to the health vassal, and
 * showing a maintenance page for errors it makes itself. Switching WEB_SERVER stops and disables
 * the other one before the chosen one starts.
 */
import { webTeardown } from './teardown.ts';
import type { WebServer } from '../config/env.ts';
import { GateError } from '../errors.ts';
import { apt, files, shell, systemd, type Notify, type Phase } from '../plan/steps.ts';
import { render } from '../templates.ts';
import { PORTS } from './ports.ts';
import type { Component, HostContext } from './types.ts';

export const MAINTENANCE_DIR = '/var/www/shoestring';
const APACHE_SITE = '/etc/apache2/sites-available/shoestring.conf';
const NGINX_SITE = '/etc/nginx/sites-available/shoestring';
const APACHE_MODULES = ['proxy', 'proxy_uwsgi', 'rewrite', 'headers'] as const;

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
  };
}

export function apacheSteps(domain: string, hostname: string): Phase['steps'] {
  const reload: Notify = { service: 'apache2', action: 'reload', check: 'apache2ctl -t' };
  const restart: Notify = { service: 'apache2', action: 'restart', check: 'apache2ctl -t' };
  return [
    apt.packages(['apache2'], { noStart: true }),
    // Idempotent: only modules not enabled yet (a2enmod also enables what they depend on).
    shell.command(
      `Enable Apache modules ${APACHE_MODULES.join(' ')}`,
      APACHE_MODULES.map((m) => `[ -e /etc/apache2/mods-enabled/${m}.load ]`).join(' && '),
      `a2enmod -q ${APACHE_MODULES.join(' ')} >/dev/null`,
      [restart],
    ),
    files.file(APACHE_SITE, render('web/apache-site.conf.hbs', siteData(domain, hostname)), {
      notify: [reload],
    }),
    // Idempotent: our site enabled, Debian's default site disabled.
    shell.command(
      'Enable the Shoestring site',
      '[ -e /etc/apache2/sites-enabled/shoestring.conf ] && [ ! -e /etc/apache2/sites-enabled/000-default.conf ]',
      'a2ensite -q shoestring >/dev/null\na2dissite -q 000-default >/dev/null 2>&1 || true',
      [reload],
    ),
    systemd.service('apache2'),
  ];
}

export function nginxSteps(domain: string, hostname: string): Phase['steps'] {
  const reload: Notify = { service: 'nginx', action: 'reload', check: 'nginx -t -q' };
  return [
    apt.packages(['nginx'], { noStart: true }),
    files.file(NGINX_SITE, render('web/nginx-site.conf.hbs', siteData(domain, hostname)), {
      notify: [reload],
    }),
    // Idempotent: our site linked, Debian's default site unlinked.
    shell.command(
      'Enable the Shoestring site',
      `[ "$(readlink /etc/nginx/sites-enabled/shoestring)" = ${NGINX_SITE} ] && [ ! -e /etc/nginx/sites-enabled/default ]`,
      `ln -sfn ${NGINX_SITE} /etc/nginx/sites-enabled/shoestring\nrm -f /etc/nginx/sites-enabled/default`,
      [reload],
    ),
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

/** `/healthz` through the front answers 200 (retried while the stack settles). */
export async function webGate(ctx: HostContext): Promise<void> {
  const script = `curl -s -o /dev/null -m 5 -w '%{http_code}' http://127.0.0.1/healthz || true`;
  let code = '';
  for (let i = 0; i < 120; i++) {
    const res = await ctx.transport.run(ctx.self.target, script, { what: 'web gate' });
    code = res.stdout.trim();
    if (code === '200') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new GateError(`${ctx.self.server.spec}: /healthz answers ${code || 'nothing'}, not 200`, {
    hint: `check the front (${serviceOf(ctx.config.webServer)}), uwsgi-emperor and etcd there`,
  });
}

export const web: Component = {
  name: 'web',
  description: 'web front (apache or nginx) for DOMAIN and *.DOMAIN, /healthz, maintenance page',
  phases: (ctx) => [webPhase(ctx)],
  gate: webGate,
  teardown: webTeardown,
};
