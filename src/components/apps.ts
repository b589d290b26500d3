/**
 * Apps: every folder under apps/ becomes a vassal on every server, uploaded to
 * /srv/shoestring/apps/<name>/. Each instance listens on its own port and announces itself to
 * every server's subscription server (the full mesh), so any server's fastrouter can route a
 * request to any live instance. Adding a folder and provisioning deploys a new app.
 */
import { LIB_DIR } from '../paths.ts';
import type { App } from '../apps/discover.ts';
import type { Gate, Phase } from '../plan/phase.ts';
import { apt, files, shell, type Step } from '../plan/steps/index.ts';
import { q } from '../ssh/quote.ts';
import { render } from '../templates.ts';
import { flat } from '../util/flat.ts';
import { PORTS } from './ports.ts';
import { appSettingsFile } from './database-apps.ts';
import { localStatus } from './web.ts';
import type { ClusterServer, Component, HostContext } from './types.ts';
import { ANNOUNCE_EVERY, SUBSCRIPTION_TOLERANCE, VASSALS_DIR } from './uwsgi.ts';

export const APPS_DIR = '/srv/shoestring/apps';
/** The apps gate's probe of this server's own instance (instance-status.py.hbs). */
export const INSTANCE_STATUS = `${LIB_DIR}/instance-status`;
export const VENVS_DIR = '/srv/shoestring/venvs';
export { APPS_SOURCE } from '../apps/source.ts';

export function vassalName(app: App): string {
  return `app-${app.name}.ini`;
}

/**
 * `server=S:7000,key=K,addr=` for each server: what an app's subscriptions share on every
 * server (only the announced address differs), made once per list of servers and app.
 */
const heads = new WeakMap<readonly string[], Map<App, readonly string[]>>();

function subscriptionHeads(app: App, servers: readonly string[]): readonly string[] {
  let byApp = heads.get(servers);
  if (!byApp) heads.set(servers, (byApp = new Map()));
  let list = byApp.get(app);
  if (!list) {
    list = servers.map((s) => flat(`server=${s}:${PORTS.subscription},key=${app.key},addr=`));
    byApp.set(app, list);
  }
  return list;
}

/** `server=S:7000,key=K,addr=SELF:PORT`, one per server in the cluster. */
export function subscriptions(app: App, servers: readonly string[], self: string): string[] {
  const addr = `${self}:${app.port}`;
  return subscriptionHeads(app, servers).map((h) => h + addr);
}

/** The vassal's `subscribe2 = …` lines, one per server (see subscriptions). */
function subscribeLines(app: App, servers: readonly string[], self: string): string {
  const list = subscriptionHeads(app, servers);
  if (list.length === 0) return '';
  // Joined with the announced address (and the next line's start) between the shared heads:
  // one text, without a string per line, for each of hundreds of servers.
  const addr = `${self}:${app.port}`;
  return `subscribe2 = ${list.join(`${addr}\nsubscribe2 = `)}${addr}`;
}

export function vassalIni(
  app: App,
  servers: readonly string[],
  self: string,
  withDatabase = false,
): string {
  const venv = `${VENVS_DIR}/${app.name}`;
  return render('apps/vassal.ini.hbs', {
    databaseIni: withDatabase && app.database ? appSettingsFile(app) : '',
    name: app.name,
    key: app.key,
    codeHash: app.codeHash,
    processes: 2,
    port: app.port,
    address: self,
    announceEvery: ANNOUNCE_EVERY,
    tolerance: SUBSCRIPTION_TOLERANCE,
    dir: `${APPS_DIR}/${app.name}`,
    entry: app.entry,
    pythonpath: app.requirements ? [`${venv}/lib/python3*/site-packages`] : [],
    // One line per server, made here: a cluster of hundreds of servers has as many lines in
    // every vassal of every server, as one text rather than a list the template walks.
    subscribe2: subscribeLines(app, servers, self),
  });
}

/**
 * The app's own virtualenv. It sees Debian's Python packages (--system-site-packages), so a
 * requirement already installed from the app's `packages` file is satisfied without any index;
 * the virtualenv is then made without pip (making pip costs ~2 s of CPU per server). Only when
 * something is still missing does pip come in (python3-venv) and fetch it from the package
 * index, which needs one to be reachable.
 */
export function venvStep(app: App): Step {
  const venv = `${VENVS_DIR}/${app.name}`;
  const req = `${APPS_DIR}/${app.name}/requirements.txt`;
  const stamp = `${venv}/.shoestring-requirements`;
  const sum = `$(sha256sum < ${q(req)} | cut -d' ' -f1)`;
  const met = render('apps/requirements-met.py.hbs', {});
  return shell.command(
    `Virtualenv for ${app.name}`,
    `[ -x ${q(`${venv}/bin/python`)} ] && [ "$(cat ${q(stamp)} 2>/dev/null)" = "${sum}" ]`,
    [
      `python3 -m venv --without-pip --system-site-packages ${q(venv)}`,
      `if ! ${q(`${venv}/bin/python`)} - ${q(req)} <<'SHOESTRING_PY'`,
      met.trimEnd(),
      `SHOESTRING_PY`,
      `then`,
      `  apt-get install -y -q python3-venv >/dev/null`,
      `  python3 -m venv --system-site-packages ${q(venv)}`,
      `  ${q(`${venv}/bin/pip`)} install -q --disable-pip-version-check -r ${q(req)} >/tmp/shoestring-pip.log 2>&1 || { tail -n 5 /tmp/shoestring-pip.log >&2; exit 1; }`,
      `fi`,
      `echo "${sum}" > ${q(stamp)}`,
    ].join('\n'),
  );
}

/** Removes vassal files of apps that are no longer under apps/. */
export function pruneStep(apps: readonly App[]): Step {
  const keep = apps.map(vassalName);
  const pattern = keep.length > 0 ? keep.map(q).join('|') : '__none__';
  const loop = (action: string) =>
    `for f in ${VASSALS_DIR}/app-*.ini; do [ -e "$f" ] || continue; case "$(basename "$f")" in ${pattern}) ;; *) ${action} ;; esac; done`;
  return shell.command('Remove apps no longer in apps/', loop('exit 1'), loop('rm -f "$f"'));
}

/** Debian packages the apps need (their `packages` files, and python3 for the virtualenvs). */
export function appPackages(apps: readonly App[]): string[] {
  return [
    ...new Set([
      ...(apps.some((a) => a.requirements) ? ['python3'] : []),
      ...apps.flatMap((a) => a.packages),
    ]),
  ];
}

/** Every server's private address, one list per cluster (the subscriptions are made per list). */
const privates = new WeakMap<readonly ClusterServer[], readonly string[]>();

function privatesOf(servers: readonly ClusterServer[]): readonly string[] {
  let list = privates.get(servers);
  if (!list) privates.set(servers, (list = servers.map((s) => s.private)));
  return list;
}

export function appsPhase(ctx: HostContext, apps: readonly App[]): Phase {
  const servers = privatesOf(ctx.servers);
  const packages = appPackages(apps);
  const steps: Step[] = [];
  if (packages.length > 0) steps.push(apt.packages(packages, { title: 'Packages the apps need' }));
  const self = ctx.self.private;
  const withDatabase = ctx.config.database === 'galera';
  steps.push(
    files.directory(APPS_DIR),
    files.directory(VENVS_DIR),
    files.directory(LIB_DIR),
    files.file(INSTANCE_STATUS, render('apps/instance-status.py.hbs', { timeout: 5 }), {
      mode: '0755',
    }),
  );
  for (const app of apps) {
    steps.push(files.directory(`${APPS_DIR}/${app.name}`));
    for (const f of app.files)
      steps.push(files.file(`${APPS_DIR}/${app.name}/${f.path}`, f.content));
    if (app.requirements) steps.push(venvStep(app));
    // A line per server: made when it is hashed or written, not kept in the plan.
    const text = () => vassalIni(app, servers, self, withDatabase);
    steps.push(files.file(`${VASSALS_DIR}/${vassalName(app)}`, { text }));
  }
  steps.push(pruneStep(apps));
  return { title: 'Apps', steps };
}

/** What one app's gate line (`name|front|own instance`) says is wrong, or undefined when it answers 200 both ways. */
export function appProblem(line: string): string | undefined {
  const [name = '?', front = '', own = ''] = line.trim().split('|');
  if (own === 'refused') return `${name} is not running here (its code did not load?)`;
  if (own === 'old')
    return `${name} still runs the version before here (the new one did not load?)`;
  if (own === 'closed') return `${name} closes the connection without an answer`;
  if (own !== '200') return `${name} ${own === 'silent' ? 'does not answer' : own}`;
  if (front !== '200') return `${name} ${front || 'no answer'} through the front`;
  return undefined;
}

/**
 * Each app answers 200 from this server's own instance, straight at its socket, and through this
 * server's front. Through the front alone, a changed app that does not load here would pass on
 * the other servers' instances of the old code, and the rollout would carry it on.
 */
export function appsGate(ctx: HostContext): Gate {
  const self = ctx.self.private;
  return {
    title: 'apps gate',
    probe: ctx.apps
      .map(
        (a) =>
          `echo "${a.name}|$(${localStatus(a.key)})|$(${INSTANCE_STATUS} ${q(self)} ${a.port} ${q(a.key)} ${q(`${VASSALS_DIR}/${vassalName(a)}`)} 2>/dev/null || echo missing)"`,
      )
      .join('\n'),
    verdict: (out) => {
      const problems = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .flatMap((l) => appProblem(l) ?? []);
      return problems.length === 0 ? undefined : `apps not answering 200: ${problems.join(', ')}`;
    },
    hint: `look at: journalctl -u uwsgi-emperor on ${ctx.self.server.spec}`,
    seconds: 60,
  };
}

export const apps: Component = {
  name: 'apps',
  description: 'the apps under apps/, as vassals subscribed to every server (full mesh)',
  phases: (ctx) => [appsPhase(ctx, ctx.apps)],
  gates: (ctx) => (ctx.apps.length > 0 ? [appsGate(ctx)] : []),
  teardown: () => [
    {
      title: 'Remove the apps',
      steps: [
        // The vassals unsubscribe from every server's router on their way out.
        shell.command(
          'Stop the apps',
          `! ls ${VASSALS_DIR}/app-*.ini >/dev/null 2>&1`,
          [
            `rm -f ${VASSALS_DIR}/app-*.ini`,
            `for i in $(seq 1 20); do pgrep -f ${q(`${APPS_DIR}/`)} >/dev/null || break; sleep 0.5; done`,
          ].join('\n'),
        ),
        files.absent(APPS_DIR),
        files.absent(VENVS_DIR),
        files.absent(INSTANCE_STATUS),
      ],
    },
  ],
};
