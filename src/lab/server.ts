/**
 * One lab server: a copy-on-write root over the image, booted by systemd-nspawn inside its own
 * network namespace, under a supervisor that boots it again after a reboot (exit code 133).
 * Power control signals the container's init (the child of nspawn), as machinectl would.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShoestringError } from '../errors.ts';
import { isMounted, mountOverlay } from './mounts.ts';
import { logFile, netnsName, paths, pidFile, serverDir, serverRoot } from './paths.ts';
import {
  childrenOf,
  isAlive,
  readPid,
  signal,
  startDaemon,
  uptimeSeconds,
  waitGone,
} from './procs.ts';

const SIGRTMIN = 34;
export const SIG_POWEROFF = SIGRTMIN + 4;
export const SIG_REBOOT = SIGRTMIN + 5;

/** Restarts nspawn when the container asked for a reboot (133); stops on anything else. */
const SUPERVISOR = `pidfile=$1; shift
while :; do
  "$@" &
  child=$!
  echo "$child" > "$pidfile"
  wait "$child"; rc=$?
  echo "supervisor: systemd-nspawn exited $rc"
  [ "$rc" -eq 133 ] || break
done
rm -f "$pidfile"
exit "$rc"`;

export interface ServerSpec {
  name: string;
  address: string;
  domain: string;
  hostAddress: string;
}

const nspawnPidFile = (name: string): string => pidFile(`${name}.nspawn`);

export function nspawnPid(name: string): number | undefined {
  const pid = readPid(nspawnPidFile(name));
  return isAlive(pid, 'systemd-nspawn') ? pid : undefined;
}

/** The container's init (PID 1 inside), as a host pid. */
export function initPid(name: string): number | undefined {
  const n = nspawnPid(name);
  return n === undefined ? undefined : childrenOf(n)[0];
}

export function isRunning(name: string): boolean {
  return nspawnPid(name) !== undefined;
}

export function serverUptime(name: string): number | undefined {
  const pid = initPid(name);
  return pid === undefined ? undefined : uptimeSeconds(pid);
}

function write(root: string, path: string, content: string, mode = 0o644): void {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content, { mode });
}

/** Mounts the server's root if needed and (re)writes its identity, resolver, key and apt proxy. */
export async function prepareRoot(spec: ServerSpec, image: string): Promise<void> {
  const dir = serverDir(spec.name);
  const root = serverRoot(spec.name);
  if (!isMounted(root)) await mountOverlay(image, dir);
  const fqdn = `${spec.name}.${spec.domain}`;
  write(root, 'etc/hostname', `${spec.name}\n`);
  // Only on a fresh root: once provisioned, /etc/hosts belongs to Shoestring's base component,
  // and `up` on a running lab must not undo it.
  if (!existsSync(join(root, 'etc/hosts'))) {
    write(
      root,
      'etc/hosts',
      `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${spec.address}\t${fqdn} ${spec.name}\n`,
    );
  }
  write(root, 'etc/resolv.conf', `nameserver ${spec.hostAddress}\nsearch ${spec.domain}\n`);
  write(
    root,
    'etc/apt/apt.conf.d/01lab-proxy',
    `Acquire::http::Proxy "http://${spec.hostAddress}:3142";\n`,
  );
  write(root, 'root/.ssh/authorized_keys', readFileSync(`${paths.key}.pub`, 'utf8'), 0o600);
}

/** Boots the server (no-op when running); returns at once, see ssh.waitForSsh. */
export function boot(name: string): void {
  if (isRunning(name)) return;
  const argv = [
    'systemd-nspawn',
    '--quiet',
    '--register=no',
    '--keep-unit',
    '--boot',
    '--console=passive',
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    `--directory=${serverRoot(name)}`,
    `--network-namespace-path=/run/netns/${netnsName(name)}`,
    // Prefixed machine name: what nspawn leaves under /run/systemd/nspawn is recognisably ours.
    `--machine=${netnsName(name)}`,
    `--hostname=${name}`,
    // The private network: the host kernel has no WireGuard, so servers run Debian's
    // wireguard-go, which needs the TUN device and the right to configure its own interfaces
    // (inside the server's own network namespace only); nftables needs the same right.
    '--bind=/dev/net/tun',
    '--capability=CAP_NET_ADMIN',
    // For the container's systemd (in a container it reads its own arguments as the kernel
    // command line): nothing on the console. A passive console's pty is not always drained,
    // and once its buffer is full the server's PID 1 blocks on its next status line: a
    // shutdown then hung for good, half done, with sshd already gone.
    'systemd.show_status=no',
    'systemd.log_target=journal',
  ];
  startDaemon({
    argv: ['bash', '-c', SUPERVISOR, `lab-supervisor-${name}`, nspawnPidFile(name), ...argv],
    pidFile: pidFile(`${name}.supervisor`),
    logFile: logFile(name),
    // No image lock files under /run/systemd/nspawn/locks (the lab owns its roots anyway).
    env: { SYSTEMD_NSPAWN_LOCK: '0' },
  });
}

/** Waits for nspawn to appear (after boot) or for a new one (after a reboot). */
export async function waitForNspawn(
  name: string,
  not?: number,
  timeoutMs = 15_000,
): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const pid = nspawnPid(name);
    if (pid !== undefined && pid !== not && initPid(name) !== undefined) return pid;
    await sleep(50);
  }
  throw new ShoestringError(`${name}: systemd-nspawn did not start`, {
    hint: `see ${logFile(name)}`,
  });
}

/** Hard crash: SIGKILL to nspawn and the container's init; the supervisor does not restart it. */
export async function kill(name: string): Promise<void> {
  const n = nspawnPid(name);
  const init = initPid(name);
  const sup = readPid(pidFile(`${name}.supervisor`));
  signal(n, 'SIGKILL', 'systemd-nspawn');
  if (init !== undefined) signal(init, 'SIGKILL');
  const pids = [n, init, sup].filter((p): p is number => p !== undefined);
  if (!(await waitGone(pids, 10_000)))
    throw new ShoestringError(`${name}: still running after SIGKILL`);
}

/** Clean shutdown (poweroff of the container's systemd); the disk is kept. */
export async function stop(name: string, timeoutMs = 60_000): Promise<void> {
  const n = nspawnPid(name);
  const init = initPid(name);
  if (n === undefined) return;
  if (init !== undefined) signal(init, SIG_POWEROFF);
  if (!(await waitGone([n], timeoutMs))) {
    throw new ShoestringError(`${name}: did not power off within ${timeoutMs / 1000} s`, {
      hint: `scripts/lab.ts kill ${name}`,
    });
  }
}

/** Reboot via the container's systemd; resolves once a new nspawn runs. */
export async function reboot(name: string): Promise<void> {
  const n = nspawnPid(name);
  const init = initPid(name);
  if (n === undefined || init === undefined) throw new ShoestringError(`${name} is not running`);
  signal(init, SIG_REBOOT);
  await waitForNspawn(name, n, 60_000);
}
