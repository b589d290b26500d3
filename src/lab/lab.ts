/**
 * The lab's commands, in order: `up` (idempotent: repairs whatever is missing), `down` (removes
 * everything, from the state file and from what exists under the lab's names), `status`, and
 * failures on demand.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { $ } from 'zx';
import { ConfigError, ShoestringError } from '../errors.ts';
import { aptProxyPid, ensureAptProxy } from './aptproxy.ts';
import { ensureDns, ensureServerRecords, labDnsProvider, pdnsPid } from './dns.ts';
import { ensureSshKey, writeLabFiles } from './files.ts';
import { ensureImage } from './image.ts';
import { missingPackages } from './install.ts';
import { mountsUnder, unmountUnder } from './mounts.ts';
import * as net from './network.ts';
import {
  DEFAULT_DOMAIN,
  DEFAULT_SUBNET,
  PREFIX,
  labDir,
  netnsName,
  paths,
  pidFile,
  serverDir,
} from './paths.ts';
import { ensurePebble, pebblePid } from './pebble.ts';
import {
  cmdline,
  processesInNetns,
  processesMentioning,
  readPid,
  signal,
  waitGone,
  waitReaped,
} from './procs.ts';
import * as server from './server.ts';
import { waitForSsh } from './ssh.ts';
import { findServer, loadState, requireState, saveState, type LabState } from './state.ts';
import { hostAddress, parseSubnet, serverAddress } from './subnet.ts';

export type Log = (line: string) => void;

export interface LabOptions {
  subnet?: string;
  domain?: string;
}

function validDomain(d: string): string {
  if (!/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/.test(d)) {
    throw new ConfigError(`--domain ${d}: expected a DNS name like shoestring.test`);
  }
  return d;
}

function initialState(opts: LabOptions): LabState {
  const existing = loadState();
  if (existing) {
    const clash = [
      opts.subnet !== undefined && opts.subnet !== existing.subnet
        ? `subnet ${existing.subnet}`
        : '',
      opts.domain !== undefined && opts.domain !== existing.domain
        ? `domain ${existing.domain}`
        : '',
    ].filter(Boolean);
    if (clash.length > 0) {
      throw new ConfigError(`the lab is up with ${clash.join(' and ')}`, [], {
        hint: 'run scripts/lab.ts down first to change them',
      });
    }
    return existing;
  }
  const subnet = parseSubnet(opts.subnet ?? DEFAULT_SUBNET).cidr;
  return {
    subnet,
    domain: validDomain((opts.domain ?? DEFAULT_DOMAIN).toLowerCase()),
    pdnsApiKey: randomBytes(24).toString('hex'),
    servers: [],
  };
}

export async function up(count: number, opts: LabOptions, log: Log): Promise<LabState> {
  const missing = await missingPackages();
  if (missing.length > 0) {
    throw new ConfigError(`host packages missing: ${missing.join(' ')}`, [], {
      hint: 'run: scripts/lab.ts install',
    });
  }
  const state = initialState(opts);
  const subnet = parseSubnet(state.subnet);
  const host = hostAddress(subnet);
  mkdirSync(labDir, { recursive: true, mode: 0o700 });
  mkdirSync(paths.run, { recursive: true });
  saveState(state);
  await ensureSshKey();

  const image = await ensureImage(log);
  state.image = image.dir;
  await net.ensureBridge(subnet);

  const services = Promise.all([
    ensureAptProxy(host),
    ensureDns(host, subnet.cidr, state.domain, state.pdnsApiKey),
    ensurePebble(host),
  ]);
  services.catch(() => undefined); // awaited below; this only marks the rejection as handled

  for (let i = 1; i <= Math.max(count, state.servers.length); i++) {
    const name = `s${i}`;
    if (!state.servers.some((s) => s.name === name)) {
      state.servers.push({ name, address: serverAddress(subnet, i) });
    }
  }
  saveState(state);

  for (const s of state.servers) {
    await net.ensureServerNetwork(s.name, s.address, subnet);
    await server.prepareRoot({ ...s, domain: state.domain, hostAddress: host }, image.dir);
    if (!server.isRunning(s.name)) {
      log(`${s.name}: booting (${s.address})`);
      server.boot(s.name);
    }
    const sup = readPid(pidFile(`${s.name}.supervisor`));
    if (sup !== undefined) s.supervisorPid = sup;
  }
  saveState(state);

  const [, dns] = await services;
  await ensureServerRecords(dns, state.domain, state.servers);
  await Promise.all(state.servers.map((s) => waitForSsh(s.name, s.address)));
  writeLabFiles(state, host);
  return state;
}

/** Removes everything `up` made; works from leftovers too (after a crash, without state). */
export async function down(log: Log): Promise<void> {
  // Containers first: nspawn (it names the servers dir) and whatever runs inside the lab's
  // namespaces. Supervisors are left to reap nspawn and exit on their own (not 133: no restart).
  const containerPids = new Set(processesMentioning(paths.servers).filter(startedByLab));
  for (const ns of net.labNetns()) {
    for (const p of processesInNetns(`/run/netns/${ns}`)) containerPids.add(p);
  }
  const isSupervisor = (p: number): boolean => cmdline(p)?.[0] === 'bash';
  for (const p of containerPids) if (!isSupervisor(p)) signal(p, 'SIGKILL');
  if (!(await waitGone([...containerPids], 10_000))) {
    for (const p of containerPids) signal(p, 'SIGKILL');
    if (!(await waitGone([...containerPids], 5_000)))
      log('warning: some container processes did not exit');
  }

  // Then the lab's daemons (pdns, pebble, apt-cacher-ng name their config under .lab/).
  const daemons = processesMentioning(labDir).filter(startedByLab);
  for (const p of daemons) signal(p, 'SIGTERM');
  if (!(await waitGone(daemons, 5_000))) {
    for (const p of daemons) signal(p, 'SIGKILL');
    await waitGone(daemons, 5_000);
  }
  await waitReaped([...containerPids, ...daemons], 5_000);

  await unmountUnder(labDir);
  for (const veth of net.labVeths()) await $`ip link del ${veth}`.nothrow();
  for (const ns of net.labNetns()) await $`ip netns del ${ns}`.nothrow();
  for (const dir of nspawnLeftovers()) await $`rm -rf --one-file-system ${dir}`.nothrow();
  // nspawn's own directories, only when empty (another user of nspawn may have things there).
  for (const dir of ['propagate', 'locks', ''].map((d) => `/run/systemd/nspawn/${d}`)) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty, or absent
    }
  }

  const left = mountsUnder(labDir);
  if (left.length > 0) throw new ShoestringError(`still mounted: ${left.join(', ')}`);
  if (existsSync(labDir)) await $`rm -rf --one-file-system ${labDir}`;
  log(`lab removed (the empty bridge stays, so stray packets to the lab subnet stay here)`);
}

/**
 * Deletes one server, as a provider deletes a VPS: killed (its disk is going anyway), its root,
 * network, DNS record and known host keys removed, and the lab's servers.txt no longer lists
 * it. `up N` makes a fresh one under the same name and address again.
 */
export async function remove(which: string, log: Log): Promise<void> {
  const state = requireState();
  const s = findServer(state, which);
  const host = hostAddress(parseSubnet(state.subnet));
  if (server.isRunning(s.name)) await server.kill(s.name);
  await unmountUnder(serverDir(s.name));
  await $`rm -rf --one-file-system ${serverDir(s.name)}`;
  for (const f of [`${s.name}.nspawn`, `${s.name}.supervisor`]) rmSync(pidFile(f), { force: true });
  await net.removeServerNetwork(s.name);
  if (pdnsPid() !== undefined) {
    await labDnsProvider(host, state.domain, state.pdnsApiKey).setA(
      `${s.name}.${state.domain}`,
      [],
      60,
    );
  }
  if (existsSync(paths.knownHosts)) {
    await $`ssh-keygen -R ${s.address} -f ${paths.knownHosts}`.quiet().nothrow();
    rmSync(`${paths.knownHosts}.old`, { force: true });
  }
  state.servers = state.servers.filter((x) => x.name !== s.name);
  saveState(state);
  writeLabFiles(state, host);
  log(`${s.name}: removed (${s.address}); servers.txt lists ${state.servers.length} servers`);
}

/**
 * What the lab starts: these programs, with the lab dir in their arguments. Anything else that
 * mentions the lab dir (a `tail -f .lab/log/...` in a user's terminal) is left alone.
 */
const LAB_PROGRAMS = new Set(['systemd-nspawn', 'pdns_server', 'pebble', 'apt-cacher-ng']);
function startedByLab(pid: number): boolean {
  const args = cmdline(pid) ?? [];
  const prog = basename(args[0] ?? '');
  if (prog === 'bash') return args.some((a) => a.startsWith('lab-supervisor-'));
  return LAB_PROGRAMS.has(prog);
}

/** Directories nspawn makes per machine on the host (mount propagation), for the lab's names. */
function nspawnLeftovers(): string[] {
  const base = '/run/systemd/nspawn/propagate';
  try {
    return readdirSync(base)
      .filter((n) => n.startsWith(`${PREFIX}-`))
      .map((n) => `${base}/${n}`);
  } catch {
    return [];
  }
}

export interface ServerStatus {
  name: string;
  address: string;
  state: 'running' | 'stopped' | 'partitioned';
  uptimeSeconds: number | null;
}

export interface LabStatus {
  up: boolean;
  subnet?: string;
  domain?: string;
  services: { aptProxy: boolean; dns: boolean; acme: boolean };
  servers: ServerStatus[];
}

export function status(): LabStatus {
  const s = loadState();
  const services = {
    aptProxy: aptProxyPid() !== undefined,
    dns: pdnsPid() !== undefined,
    acme: pebblePid() !== undefined,
  };
  if (!s) return { up: false, services, servers: [] };
  return {
    up: true,
    subnet: s.subnet,
    domain: s.domain,
    services,
    servers: s.servers.map((x) => {
      const running = server.isRunning(x.name);
      return {
        name: x.name,
        address: x.address,
        state: !running ? 'stopped' : net.isPartitioned(x.name) ? 'partitioned' : 'running',
        uptimeSeconds: running ? (server.serverUptime(x.name) ?? null) : null,
      };
    }),
  };
}

export type PowerAction = 'kill' | 'stop' | 'start' | 'reboot' | 'partition' | 'heal';

export async function power(action: PowerAction, which: string, log: Log): Promise<void> {
  const state = requireState();
  const s = findServer(state, which);
  const subnet = parseSubnet(state.subnet);
  switch (action) {
    case 'kill':
      await server.kill(s.name);
      log(`${s.name}: killed (SIGKILL); its disk is kept`);
      return;
    case 'stop':
      await server.stop(s.name);
      log(`${s.name}: powered off`);
      return;
    case 'start': {
      if (!state.image)
        throw new ShoestringError('no image recorded', { hint: 'run: scripts/lab.ts up' });
      await net.ensureServerNetwork(s.name, s.address, subnet);
      await server.prepareRoot(
        { ...s, domain: state.domain, hostAddress: hostAddress(subnet) },
        state.image,
      );
      server.boot(s.name);
      await server.waitForNspawn(s.name);
      const sup = readPid(pidFile(`${s.name}.supervisor`));
      if (sup !== undefined) s.supervisorPid = sup;
      saveState(state);
      await waitForSsh(s.name, s.address);
      log(`${s.name}: running`);
      return;
    }
    case 'reboot':
      await server.reboot(s.name);
      await waitForSsh(s.name, s.address);
      log(`${s.name}: rebooted`);
      return;
    case 'partition':
      await net.partition(s.name);
      log(`${s.name}: cut off the lab network (${netnsName(s.name)} down)`);
      return;
    case 'heal':
      await net.heal(s.name);
      log(`${s.name}: reconnected`);
      return;
  }
}
