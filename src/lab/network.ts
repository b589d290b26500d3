/**
 * The lab network: one bridge on the host, one network namespace per server joined to it by a
 * veth pair. Servers get an address and no default route. `assertBridge` guards every connection
 * the lab makes to a lab address: without the bridge, that address would be routed off the machine.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { $ } from 'zx';
import { ConfigError, ShoestringError } from '../errors.ts';
import { BRIDGE, PREFIX, netnsName } from './paths.ts';
import { hostAddress, overlaps, type Subnet } from './subnet.ts';

export class LabNetworkError extends ShoestringError {}

const sys = (iface: string, file: string): string | undefined => {
  try {
    return readFileSync(`/sys/class/net/${iface}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** Throws unless packets to `address` would leave through the lab bridge (and so stay here). */
export async function assertBridge(address: string): Promise<void> {
  if (!existsSync(`/sys/class/net/${BRIDGE}/bridge`)) {
    throw new LabNetworkError(
      `the lab bridge ${BRIDGE} does not exist; refusing to connect to ${address}`,
      {
        hint: 'run: scripts/lab.ts up',
      },
    );
  }
  const r = await $`ip -j route get ${address}`.nothrow();
  const dev = r.exitCode === 0 ? (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev : undefined;
  // The bridge's own address is routed via lo; that is fine as long as the bridge holds it.
  const own =
    dev === 'lo' && (await $`ip -o -4 addr show dev ${BRIDGE}`).stdout.includes(` ${address}/`);
  if (dev !== BRIDGE && !own) {
    throw new LabNetworkError(
      `${address} is routed via ${dev ?? 'nothing'}, not the lab bridge ${BRIDGE}; refusing to connect`,
      { hint: 'check --subnet, or run: scripts/lab.ts up' },
    );
  }
}

/**
 * Refuses a lab subnet that the host already routes elsewhere (a real network): the lab's
 * traffic must never be mistaken for, or leak into, another network.
 */
export async function assertSubnetFree(subnet: Subnet): Promise<void> {
  const routes = JSON.parse((await $`ip -j -4 route show table all`).stdout) as {
    dst?: string;
    dev?: string;
    type?: string;
  }[];
  const clash = routes.filter(
    (r) =>
      r.dst !== undefined &&
      r.dst !== 'default' &&
      r.dev !== BRIDGE &&
      r.dev !== 'lo' &&
      overlaps(subnet, r.dst),
  );
  if (clash.length > 0) {
    throw new ConfigError(
      `the lab subnet ${subnet.cidr} overlaps a network of this host`,
      [...new Set(clash.map((r) => `${r.dst} via ${r.dev ?? '?'}`))],
      { hint: 'choose another --subnet (after scripts/lab.ts down)' },
    );
  }
}

export async function ensureBridge(subnet: Subnet): Promise<void> {
  await assertSubnetFree(subnet);
  if (!existsSync(`/sys/class/net/${BRIDGE}`)) {
    await $`ip link add ${BRIDGE} type bridge`;
  }
  const cidr = `${hostAddress(subnet)}/${subnet.prefixLength}`;
  const addrs = (await $`ip -o -4 addr show dev ${BRIDGE}`).stdout;
  if (!addrs.includes(` ${cidr} `)) {
    await $`ip addr add ${cidr} dev ${BRIDGE}`;
  }
  await $`ip link set ${BRIDGE} up`;
}

export async function ensureServerNetwork(
  server: string,
  address: string,
  subnet: Subnet,
): Promise<void> {
  const ns = netnsName(server);
  if (!existsSync(`/run/netns/${ns}`)) await $`ip netns add ${ns}`;
  if (!existsSync(`/sys/class/net/${ns}`)) {
    await $`ip link add ${ns} type veth peer name eth0 netns ${ns}`;
  }
  await $`ip link set ${ns} master ${BRIDGE} up`;
  const cidr = `${address}/${subnet.prefixLength}`;
  const inside = (await $`ip -n ${ns} -o -4 addr show dev eth0`).stdout;
  if (!inside.includes(` ${cidr} `)) await $`ip -n ${ns} addr add ${cidr} dev eth0`;
  await $`ip -n ${ns} link set lo up`;
  await $`ip -n ${ns} link set eth0 up`;
}

/** Cuts the server off the bridge (its link goes down, as if its cable was pulled). */
export async function partition(server: string): Promise<void> {
  const ns = netnsName(server);
  await $`ip link set ${ns} down`;
  await $`ip link set ${ns} nomaster`;
}

export async function heal(server: string): Promise<void> {
  const ns = netnsName(server);
  await $`ip link set ${ns} master ${BRIDGE} up`;
}

export function isPartitioned(server: string): boolean {
  const ns = netnsName(server);
  if (!existsSync(`/sys/class/net/${ns}`)) return false;
  const flags = Number(sys(ns, 'flags') ?? '0');
  const attached = existsSync(`/sys/class/net/${ns}/master`);
  return (flags & 1) === 0 || !attached;
}

export async function removeServerNetwork(server: string): Promise<void> {
  const ns = netnsName(server);
  if (existsSync(`/sys/class/net/${ns}`)) await $`ip link del ${ns}`.nothrow();
  if (existsSync(`/run/netns/${ns}`)) await $`ip netns del ${ns}`.nothrow();
}

/** Network namespaces with the lab's prefix (whatever the state file says). */
export function labNetns(): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(`${PREFIX}-`));
  } catch {
    return [];
  }
}

/** Host-side veths with the lab's prefix (the bridge itself is kept). */
export function labVeths(): string[] {
  return readdirSync('/sys/class/net').filter((n) => n.startsWith(`${PREFIX}-`));
}
