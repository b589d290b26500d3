/**
 * The servers' base image: Debian 12 built once with mmdebstrap from the host's own mirror,
 * cached under /var/cache/shoestring-lab/images/<hash> (kept across `down`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { ShoestringError } from '../errors.ts';
import { paths } from './paths.ts';
import { debianSources, oneLineEntries } from './sources.ts';
import { unmountUnder } from './mounts.ts';

export const RELEASE = 'bookworm';

export const IMAGE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'curl',
  'ca-certificates',
  'python3',
  'netbase',
  'procps',
] as const;

/** sshd gets host keys made on each server's first boot (the image carries none). */
const SSH_DROP_IN = [
  '[Service]',
  'ExecStartPre=',
  'ExecStartPre=/usr/bin/ssh-keygen -A',
  'ExecStartPre=/usr/sbin/sshd -t',
  '',
].join('\n');

/** Run inside the image at build time; `$1` is the image root. */
const CUSTOMIZE = [
  'rm -f "$1"/etc/ssh/ssh_host_*',
  'mkdir -p "$1"/etc/systemd/system/ssh.service.d',
  `printf %s '${SSH_DROP_IN}' > "$1"/etc/systemd/system/ssh.service.d/lab-host-keys.conf`,
  'install -d -m 700 "$1"/root/.ssh',
  'echo localhost > "$1"/etc/hostname',
  ': > "$1"/etc/resolv.conf',
  // Nothing to do in a container without consoles; failed units would make the system "degraded".
  'ln -sf /dev/null "$1"/etc/systemd/system/getty@tty1.service',
];

/** apt options of the host that the image must share (e.g. a mirror with expired Valid-Until). */
async function hostAptOptions(): Promise<string[]> {
  const dump = (await $`apt-config dump`.nothrow()).stdout;
  const opts: string[] = [];
  for (const key of ['Acquire::Check-Valid-Until', 'Acquire::Check-Date']) {
    const m = new RegExp(`^${key} "(\\w+)";$`, 'm').exec(dump);
    if (m?.[1]) opts.push(`${key} "${m[1]}";`);
  }
  return opts;
}

export interface ImageSpec {
  entries: string[];
  aptOptions: string[];
  key: string;
  dir: string;
}

export async function imageSpec(): Promise<ImageSpec> {
  const entries = oneLineEntries(debianSources(RELEASE));
  const aptOptions = await hostAptOptions();
  const key = createHash('sha256')
    .update(JSON.stringify({ v: 3, RELEASE, IMAGE_PACKAGES, entries, aptOptions, CUSTOMIZE }))
    .digest('hex')
    .slice(0, 16);
  return { entries, aptOptions, key, dir: join(paths.images, key) };
}

export function imageReady(spec: ImageSpec): boolean {
  return existsSync(join(spec.dir, '.complete'));
}

/** Builds the image unless cached; returns its directory. */
export async function ensureImage(log: (line: string) => void): Promise<ImageSpec> {
  const spec = await imageSpec();
  if (imageReady(spec)) return spec;
  const tmp = `${spec.dir}.tmp`;
  await $`mkdir -p ${paths.images}`;
  if (existsSync(tmp)) {
    await unmountUnder(tmp);
    await $`rm -rf --one-file-system ${tmp}`;
  }
  log(`building the Debian ${RELEASE} image (once; cached in ${paths.images})`);
  const started = Date.now();
  const args = [
    '--mode=root',
    '--variant=minbase',
    `--include=${IMAGE_PACKAGES.join(',')}`,
    // Keep the package lists, as most servers have them: a first provision then needs no
    // `apt-get update` (several servers refreshing the same index at once through the lab's
    // apt-cacher-ng can stall it).
    '--skip=cleanup/apt/lists',
    ...spec.aptOptions.map((o) => `--aptopt=${o}`),
    ...CUSTOMIZE.map((c) => `--customize-hook=${c}`),
    RELEASE,
    tmp,
    ...spec.entries,
  ];
  const r = await $`mmdebstrap ${args}`.nothrow();
  if (r.exitCode !== 0) {
    throw new ShoestringError(
      `mmdebstrap exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
  await $`touch ${join(tmp, '.complete')}`;
  renameSync(tmp, spec.dir);
  log(`image built in ${Math.round((Date.now() - started) / 1000)} s`);
  return spec;
}

/** The image's apt sources and options, for reuse by the servers. */
export function imageSourcesList(spec: ImageSpec): string {
  return readFileSync(join(spec.dir, 'etc/apt/sources.list'), 'utf8');
}
