/**
 * The lab's caching apt proxy: its own apt-cacher-ng on <host>:3142, configured under .lab/,
 * caching under /var/cache/shoestring-lab/apt-cacher-ng (kept across `down`). No remapping:
 * servers use the host's own mirror URLs, and the proxy fetches exactly those.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, paths, pidFile } from './paths.ts';
import { isAlive, readPid, startDaemon } from './procs.ts';
import { waitForPort } from './wait.ts';

export const APT_PROXY_PORT = 3142;

function config(hostAddress: string): string {
  return [
    '# The lab apt proxy (written by scripts/lab.ts)',
    `CacheDir: ${paths.aptCache}`,
    `LogDir: ${join(paths.aptProxy, 'log')}`,
    'SupportDir: /usr/lib/apt-cacher-ng',
    `SocketPath: ${join(paths.aptProxy, 'socket')}`,
    `PidFile: ${join(paths.aptProxy, 'pid')}`,
    `BindAddress: ${hostAddress}`,
    `Port: ${APT_PROXY_PORT}`,
    'ExThreshold: 4',
    'ForeGround: 1',
    '',
  ].join('\n');
}

export function aptProxyPid(): number | undefined {
  const pid = readPid(pidFile('apt-cacher-ng'));
  return isAlive(pid, paths.aptProxy) ? pid : undefined;
}

export async function ensureAptProxy(hostAddress: string): Promise<void> {
  if (aptProxyPid() === undefined) {
    mkdirSync(join(paths.aptProxy, 'log'), { recursive: true });
    mkdirSync(paths.aptCache, { recursive: true });
    writeFileSync(join(paths.aptProxy, 'acng.conf'), config(hostAddress));
    startDaemon({
      argv: ['apt-cacher-ng', '-c', paths.aptProxy, 'ForeGround=1'],
      pidFile: pidFile('apt-cacher-ng'),
      logFile: logFile('apt-cacher-ng'),
    });
  }
  await waitForPort('apt proxy', hostAddress, APT_PROXY_PORT, () => aptProxyPid() !== undefined);
}
