/** Mount facts and operations for the lab: overlay roots of servers, leftovers under a path. */
import { readFileSync } from 'node:fs';
import { $ } from 'zx';

/** Mount points at or under `dir`, deepest first (the order to unmount them). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export function isMounted(dir: string): boolean {
  return mountsUnder(dir).includes(dir);
}

export async function unmountUnder(dir: string): Promise<void> {
  for (const p of mountsUnder(dir)) {
    const r = await $`umount ${p}`.nothrow();
    if (r.exitCode !== 0) await $`umount -l ${p}`.nothrow();
  }
}

/** Mounts a copy-on-write root: the shared image below, the server's own changes above. */
export async function mountOverlay(lower: string, dir: string): Promise<void> {
  await $`mkdir -p ${dir}/upper ${dir}/work ${dir}/root`;
  await $`mount -t overlay overlay -o ${`lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work`} ${dir}/root`;
}
