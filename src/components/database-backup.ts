/**
 * Scheduled backups on every database member: a consistent dump of the apps' databases
 * (mariadb-dump, one transaction per database), gzip, checked, kept in /var/backups/shoestring
 * (0700 root), the newest BACKUP_KEEP kept. A systemd timer runs it (BACKUP_SCHEDULE, spread
 * over an hour so members do not dump together); scripts/backup.ts runs it on demand, lists,
 * pulls a copy off the cluster, and restores.
 */
import type { Phase } from '../plan/phase.ts';
import { apt, files, systemd, type Step } from '../plan/steps/index.ts';
import { render } from '../templates.ts';
import type { HostContext } from './types.ts';

export const BACKUP_DIR = '/var/backups/shoestring/database';
export const BACKUP_SCRIPT = '/usr/local/sbin/shoestring-backup';
export const BACKUP_SERVICE = 'shoestring-backup.service';
export const BACKUP_TIMER = 'shoestring-backup.timer';
const SERVICE_FILE = `/etc/systemd/system/${BACKUP_SERVICE}`;
const TIMER_FILE = `/etc/systemd/system/${BACKUP_TIMER}`;

export function backupPhase(ctx: HostContext): Phase {
  return {
    title: 'Database backups',
    steps: [
      apt.packages(['gzip']),
      files.directory('/var/backups/shoestring', { mode: '0700' }),
      files.directory(BACKUP_DIR, { mode: '0700' }),
      files.file(
        BACKUP_SCRIPT,
        render('database/backup.sh.hbs', { dir: BACKUP_DIR, keep: ctx.config.backup.keep }),
        { mode: '0755' },
      ),
      files.file(SERVICE_FILE, render('database/backup.service.hbs', { script: BACKUP_SCRIPT })),
      files.file(
        TIMER_FILE,
        render('database/backup.timer.hbs', {
          schedule: ctx.config.backup.schedule,
          spread: '1h',
        }),
        {
          validate: `systemd-analyze calendar ${JSON.stringify(ctx.config.backup.schedule)} >/dev/null`,
          notify: [{ service: BACKUP_TIMER, action: 'restart' }],
        },
      ),
      systemd.daemonReload([
        { unit: BACKUP_SERVICE, files: [SERVICE_FILE] },
        { unit: BACKUP_TIMER, files: [TIMER_FILE] },
      ]),
      systemd.service(BACKUP_TIMER),
    ],
  };
}

/** Teardown: the schedule goes; the backups themselves stay (they are data). */
export function backupTeardownSteps(): Step[] {
  return [
    systemd.unitAbsent(BACKUP_TIMER, [TIMER_FILE]),
    systemd.unitAbsent(BACKUP_SERVICE, [SERVICE_FILE]),
    files.absent(BACKUP_SCRIPT),
  ];
}
