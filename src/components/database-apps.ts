/**
 * A database and a user per app that asks for one (its folder has a `database` file). The
 * password is made on a server (openssl), kept in etcd (the cluster's state; created once, with
 * a transaction, whoever comes first), and never crosses to the operator's machine or any
 * output: the steps below read it from etcd on the server itself. Each server writes the app's
 * settings file for its vassal (0640 root:www-data); each database member makes sure the
 * database, the user and its password exist (replicated to every member).
 */
import type { App } from '../apps/discover.ts';
import { ETCDCTL } from '../etcd/remote.ts';
import type { Phase } from '../plan/phase.ts';
import { files, shell, type Step } from '../plan/steps/index.ts';
import { q } from '../ssh/quote.ts';
import { render } from '../templates.ts';
import { PORTS } from './ports.ts';

export const DB_PASSWORDS_PREFIX = '/shoestring/database/users/';
export const APP_SETTINGS_DIR = '/etc/shoestring/apps';
const PLACEHOLDER = '@@SHOESTRING_PASSWORD@@';

/** The app's database and user name (MariaDB names: letters, digits, _). */
export function databaseName(app: App): string {
  return app.name.replace(/-/g, '_');
}

export function appSettingsFile(app: App): string {
  return `${APP_SETTINGS_DIR}/${app.name}-database.ini`;
}

export function appsWithDatabase(apps: readonly App[]): App[] {
  return apps.filter((a) => a.database);
}

/** Shell: the app's password into $pw, made and stored in etcd first if it has none. */
function passwordScript(app: App): string {
  const key = `${DB_PASSWORDS_PREFIX}${app.name}`;
  const get = `${ETCDCTL} --command-timeout=5s get --print-value-only ${q(key)}`;
  return [
    `pw=$(${get})`,
    `if [ -z "$pw" ]; then`,
    // Created only if absent (another server may be first): the txn reads from stdin.
    `  ${ETCDCTL} --command-timeout=5s txn >/dev/null <<SHOESTRING_TXN`,
    `create("${key}") = "0"`,
    ``,
    `put ${key} "$(openssl rand -hex 24)"`,
    ``,
    ``,
    `SHOESTRING_TXN`,
    `  pw=$(${get})`,
    `fi`,
    `case "$pw" in ''|*[!0-9a-f]*) echo "no usable database password for ${app.name} in etcd (${key})" >&2; exit 1;; esac`,
  ].join('\n');
}

/** The app's settings file text with the password put in on the server. */
function settingsText(app: App): string {
  return render('database/app.ini.hbs', {
    app: app.name,
    host: '127.0.0.1',
    port: PORTS.databaseProxy,
    database: databaseName(app),
    user: databaseName(app),
    password: PLACEHOLDER,
  });
}

/** Steps on every server: the app's settings file (password from etcd). */
export function appSettingsSteps(apps: readonly App[]): Step[] {
  const steps: Step[] = [files.directory(APP_SETTINGS_DIR)];
  for (const app of appsWithDatabase(apps)) {
    const file = appSettingsFile(app);
    const want = `want=$(printf '%s' ${q(settingsText(app))} | sed "s/${PLACEHOLDER}/$pw/")`;
    // Idempotent: rewritten only when its text or its owner/mode differ.
    steps.push(
      shell.command(
        `Database settings for ${app.name}`,
        [
          passwordScript(app),
          want,
          `[ "$(cat ${q(file)} 2>/dev/null)" = "$want" ] && [ "$(stat -c %a:%U:%G ${q(file)})" = 640:root:www-data ]`,
        ].join('\n'),
        [
          passwordScript(app),
          want,
          `tmp=$(mktemp ${q(`${file}.XXXXXX`)})`,
          `printf '%s\\n' "$want" > "$tmp"`,
          `chown root:www-data "$tmp"; chmod 0640 "$tmp"; mv -f "$tmp" ${q(file)}`,
        ].join('\n'),
      ),
    );
  }
  return steps;
}

/**
 * SQL text run through `mariadb` on stdin (never in argv). The here-document expands `$pw`; a
 * backquote in the SQL must be written escaped (\`).
 */
function sql(lines: readonly string[]): string {
  return `mariadb -N -B <<SHOESTRING_SQL\n${lines.join('\n')}\nSHOESTRING_SQL`;
}

/** Phase on a database member: each app's database and user, with the password from etcd. */
export function appDatabasesPhase(apps: readonly App[]): Phase | undefined {
  const withDb = appsWithDatabase(apps);
  if (withDb.length === 0) return undefined;
  return {
    title: "The apps' databases",
    steps: withDb.map((app) => {
      const name = databaseName(app);
      // The user may connect from any address: MariaDB listens on the private address only,
      // and the firewall lets only the cluster's servers reach it.
      const user = `'${name}'@'%'`;
      // Idempotent: done when the database exists and the user has it with this password.
      return shell.command(
        `Database and user for ${app.name}`,
        [
          passwordScript(app),
          `[ "$(${sql([
            `SELECT (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='${name}')`,
            ` + (SELECT COUNT(*) FROM mysql.user WHERE User='${name}' AND Host='%' AND authentication_string=PASSWORD('$pw'))`,
            ` + (SELECT COUNT(*) FROM mysql.db WHERE Db='${name}' AND User='${name}' AND Host='%');`,
          ])})" = 3 ]`,
        ].join('\n'),
        [
          passwordScript(app),
          sql([
            `CREATE DATABASE IF NOT EXISTS \\\`${name}\\\` CHARACTER SET utf8mb4;`,
            `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY '$pw';`,
            `ALTER USER ${user} IDENTIFIED BY '$pw';`,
            `GRANT ALL PRIVILEGES ON \\\`${name}\\\`.* TO ${user};`,
          ]),
        ].join('\n'),
      );
    }),
  };
}
