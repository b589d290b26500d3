/**
 * Backups seen from the operator's machine: the listing script and its parser (pure), and the
 * streams that pull one backup off a member or push one into the cluster (ssh, binary safe).
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { BACKUP_DIR } from '../components/database-backup.ts';
import { ShoestringError } from '../errors.ts';
import type { Transport } from '../ssh/transport.ts';
import type { Target } from '../ssh/target.ts';
import { q } from '../ssh/quote.ts';

export interface BackupFile {
  readonly name: string;
  readonly bytes: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  readonly sha256: string;
}

/** A backup's file name: db-<UTC time>-<host>.sql.gz. */
export const BACKUP_NAME = /^db-\d{8}T\d{6}Z-[A-Za-z0-9.-]+\.sql\.gz$/;

/** Lists this member's backups: `name bytes mtime sha256` per line. */
export const LIST_SCRIPT = `cd ${BACKUP_DIR} 2>/dev/null || exit 0
for f in db-*.sql.gz; do [ -e "$f" ] || continue; echo "$f $(stat -c '%s %Y' "$f") $(cut -d' ' -f1 "$f.sha256" 2>/dev/null || echo -)"; done`;

export function parseList(text: string): BackupFile[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 4 && BACKUP_NAME.test(f[0] ?? ''))
    .map(([name = '', bytes = '0', mtime = '0', sha256 = '-']) => ({
      name,
      bytes: Number(bytes),
      mtime: Number(mtime),
      sha256,
    }))
    .sort((a, b) => b.name.localeCompare(a.name));
}

/** Runs `ssh … command` with optional stdin from `from` and stdout to `to` (files). */
async function sshStream(
  transport: Transport,
  target: Target,
  command: string,
  io: { from?: string; to?: string },
): Promise<void> {
  const args = await transport.streamArgs(target, `bash -c ${q(`set -euo pipefail; ${command}`)}`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ssh', args, {
      stdio: [io.from ? 'pipe' : 'ignore', io.to ? 'pipe' : 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (io.to && child.stdout) child.stdout.pipe(createWriteStream(io.to, { mode: 0o600 }));
    if (io.from && child.stdin) createReadStream(io.from).pipe(child.stdin);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new ShoestringError(
              `${target.name}: ${command} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
            ),
          ),
    );
  });
}

/** Copies a member's backup to `to` (a local file, 0600). */
export function pullBackup(t: Transport, target: Target, name: string, to: string): Promise<void> {
  return sshStream(t, target, `cat ${q(`${BACKUP_DIR}/${name}`)}`, { to });
}

/** Streams a local backup into the cluster through `target`'s member (replicated to all). */
export function restoreFromFile(t: Transport, target: Target, file: string): Promise<void> {
  return sshStream(t, target, 'gunzip -c | mariadb', { from: file });
}

/** Restores a backup kept on `target` itself. */
export function restoreOnServer(t: Transport, target: Target, name: string): Promise<void> {
  return sshStream(t, target, `gunzip -c ${q(`${BACKUP_DIR}/${name}`)} | mariadb`, {});
}
