#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/loader.mjs" "$0" "$@"
/**
 * scripts/backup.ts: the database's backups. Every member takes one on BACKUP_SCHEDULE and keeps
 * BACKUP_KEEP; this takes one now, lists them, pulls one off the cluster (the copy that survives
 * losing every server), and restores one.
 *
 *   scripts/backup.ts now                 a backup now, on the first Synced member
 *   scripts/backup.ts list                every member's backups, newest first
 *   scripts/backup.ts pull [NAME] [--to DIR]  copy one (default the newest) to DIR (default backups/)
 *   scripts/backup.ts restore FILE|NAME --yes  put one back (a pulled file, or a NAME on a member)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  EXIT_CODES_HELP,
  INPUT_OPTION_HELP,
  INPUT_OPTIONS,
  parseCommand,
} from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { out } from '../src/cli/output.ts';
import { BACKUP_SERVICE } from '../src/components/database-backup.ts';
import { SYNCED } from '../src/components/database-galera.ts';
import type { Server } from '../src/config/servers.ts';
import {
  BACKUP_NAME,
  LIST_SCRIPT,
  parseList,
  pullBackup,
  restoreFromFile,
  restoreOnServer,
  type BackupFile,
} from '../src/database/backups.ts';
import { ConfigError, ShoestringError } from '../src/errors.ts';
import { inputPaths, loadInputs, makeTransport, targetOf } from '../src/provision/context.ts';

const spec = {
  usage: 'scripts/backup.ts now|list|pull|restore [NAME|FILE] [options]',
  summary:
    "The database's backups: take one now, list every member's, pull one to this machine, restore one.",
  options: { ...INPUT_OPTIONS, to: { type: 'string' }, yes: { type: 'boolean' } },
  optionHelp: [
    ...INPUT_OPTION_HELP,
    ['--to DIR', 'pull: where to put the copy (default backups/)'],
    ['--yes', 'restore: really restore (without it: say what would happen, change nothing)'],
  ],
  epilog: `Examples:\n  scripts/backup.ts now --lab\n  scripts/backup.ts pull --lab --to backups/\n  scripts/backup.ts restore backups/db-20261202T030000Z-s1.sql.gz --lab --yes\n\n${EXIT_CODES_HELP}`,
  allowPositionals: true,
} as const;

const human = (bytes: number): string =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1 << 20
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / (1 << 20)).toFixed(1)} MiB`;

main(async () => {
  const { values, positionals } = parseCommand(spec, process.argv.slice(2));
  const [command, arg, ...extra] = positionals;
  const usage = () =>
    new ConfigError(`usage: ${spec.usage}`, [], { hint: 'run scripts/backup.ts --help' });
  if (!command || !['now', 'list', 'pull', 'restore'].includes(command) || extra.length > 0)
    throw usage();
  const inputs = loadInputs(inputPaths(values));
  if (inputs.config.database !== 'galera')
    throw new ConfigError(
      `${inputs.config.file}: DATABASE=${inputs.config.database}: scripts/backup.ts handles Galera backups`,
    );
  const t = makeTransport(inputs.config);
  const members = inputs.dbServers;
  const run = (s: Server, script: string, what: string, timeoutMs = 30_000) =>
    t.run(targetOf(s), script, { what, timeoutMs, allowFailure: true });

  /** The first member that answers as Synced. */
  const synced = async (): Promise<Server> => {
    for (const s of members) {
      const r = await run(s, SYNCED, 'is it Synced').catch(() => undefined);
      if (r?.code === 0) return s;
    }
    throw new ShoestringError('no database member is Synced', {
      hint: 'scripts/status.ts shows each member; ./provision.ts brings them back',
    });
  };

  const listAll = async (): Promise<{ server: Server; file: BackupFile }[]> => {
    const all: { server: Server; file: BackupFile }[] = [];
    for (const s of members) {
      const r = await run(s, LIST_SCRIPT, 'list backups').catch(() => undefined);
      if (!r || r.code !== 0) {
        out(`${s.spec}: does not answer (its backups are not listed)`);
        continue;
      }
      for (const file of parseList(r.stdout)) all.push({ server: s, file });
    }
    return all.sort((a, b) => b.file.name.localeCompare(a.file.name));
  };

  if (command === 'now') {
    if (arg !== undefined) throw usage();
    const s = await synced();
    const r = await run(
      s,
      `systemctl start ${BACKUP_SERVICE} && journalctl -u ${BACKUP_SERVICE} -n 20 -o cat --no-pager | grep -o 'db-[^ ]*\\.sql\\.gz' | tail -n 1`,
      'take a backup',
      30 * 60_000,
    );
    if (r.code !== 0)
      throw new ShoestringError(
        `${s.spec}: the backup failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        {
          hint: `look at: journalctl -u ${BACKUP_SERVICE} on ${s.spec}`,
        },
      );
    out(`backup: ${r.stdout.trim()} on ${s.spec}`);
    return 0;
  }

  if (command === 'list') {
    if (arg !== undefined) throw usage();
    const all = await listAll();
    if (all.length === 0) out('no backups yet (scripts/backup.ts now takes one)');
    for (const { server, file } of all)
      out(`${file.name}  ${human(file.bytes).padStart(10)}  ${server.spec}`);
    return 0;
  }

  if (command === 'pull') {
    if (arg !== undefined && !BACKUP_NAME.test(arg))
      throw new ConfigError(
        `${arg}: not a backup name (db-<time>-<host>.sql.gz; see scripts/backup.ts list)`,
      );
    const all = await listAll();
    const pick = arg === undefined ? all[0] : all.find((b) => b.file.name === arg);
    if (!pick)
      throw new ShoestringError(arg ? `no member has ${arg}` : 'no backups yet', {
        hint: 'scripts/backup.ts list; scripts/backup.ts now',
      });
    const dir = values.to ?? 'backups';
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const dest = join(dir, pick.file.name);
    const part = `${dest}.part`;
    await pullBackup(t, targetOf(pick.server), pick.file.name, part);
    const sum = createHash('sha256').update(readFileSync(part)).digest('hex');
    if (pick.file.sha256 !== '-' && sum !== pick.file.sha256)
      throw new ShoestringError(
        `${pick.file.name}: the copy's sha256 differs from the member's (${sum} ≠ ${pick.file.sha256})`,
        {
          hint: 'pull it again',
        },
      );
    renameSync(part, dest);
    out(`pulled ${pick.file.name} (${human(pick.file.bytes)}) from ${pick.server.spec} to ${dest}`);
    return 0;
  }

  // restore
  if (arg === undefined) throw usage();
  const local = existsSync(arg);
  if (!local && !BACKUP_NAME.test(basename(arg)))
    throw new ConfigError(
      `${arg}: no such file, and not a backup name (see scripts/backup.ts list)`,
    );
  const s = await synced();
  let onServer: Server | undefined;
  if (!local) {
    const all = await listAll();
    onServer = all.find((b) => b.file.name === arg)?.server;
    if (!onServer)
      throw new ShoestringError(`no member has ${arg}`, { hint: 'scripts/backup.ts list' });
  }
  const what = local
    ? `restore ${arg} through ${s.spec}'s member`
    : `restore ${arg} on ${onServer?.spec}`;
  if (values.yes !== true) {
    out(
      `would ${what}: the apps' databases in it are replaced by its content on every member (nothing changed; add --yes)`,
    );
    return 0;
  }
  if (local) await restoreFromFile(t, targetOf(s), arg);
  else if (onServer) {
    const ok = await run(onServer, SYNCED, 'is it Synced');
    if (ok.code !== 0)
      throw new ShoestringError(
        `${onServer.spec} is not Synced: pull the backup and restore the file`,
      );
    await restoreOnServer(t, targetOf(onServer), arg);
  }
  out(`restored: ${what}`);
  return 0;
});
