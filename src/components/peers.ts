/**
 * The mesh in the cluster's state: once etcd runs, each server records its WireGuard public key
 * and its public and private addresses in etcd (`/shoestring/network/peers/<host name>`); the
 * first server of servers.txt deletes the records of servers no longer listed (these, and the
 * agent's record of the certificate each installed). Provision itself reads the keys from the
 * servers (every one answers preflight); the records are for what reads the cluster's state
 * without SSH (status, the agent).
 */
import { KEYS, PEERS_PREFIX } from '../agent/keys.ts';
import { ETCDCTL } from '../etcd/remote.ts';
import { WG_KEY } from '../network/survey.ts';
import { shell, type Step } from '../plan/steps/index.ts';
import { q } from '../ssh/quote.ts';
import type { Component, HostContext } from './types.ts';

export { PEERS_PREFIX };
const ASK = '--dial-timeout=2s --command-timeout=5s';

/**
 * Shell printing this server's record, compact JSON: its public key read on the server (empty
 * without WireGuard), its public and private addresses.
 */
export function recordScript(address: string, privateAddress: string): string {
  const key = `$(wg pubkey < ${WG_KEY} 2>/dev/null || true)`;
  return `printf '{"publicKey":"%s","public":"%s","private":"%s"}' "${key}" ${q(address)} ${q(privateAddress)}`;
}

function recordStep(ctx: HostContext): Step {
  const key = q(`${PEERS_PREFIX}${ctx.self.hostname}`);
  const value = recordScript(ctx.self.address, ctx.self.private);
  return shell.command(
    "Record this server's place on the private network in etcd",
    `[ "$(${ETCDCTL} ${ASK} get --print-value-only ${key})" = "$(${value})" ]`,
    `${ETCDCTL} ${ASK} put ${key} "$(${value})" >/dev/null`,
  );
}

/**
 * The cluster's records of one server each, by host name: its place on the private network, and
 * the certificate its agent last installed (which status and `scripts/tls.ts renew --wait` read).
 * A server that left while its etcd was already gone could not delete its own.
 */
export const PER_SERVER_PREFIXES = [PEERS_PREFIX, KEYS.installedPrefix] as const;

/** The keys under `prefix` that servers.txt does not name (shell; prints them). */
export function staleRecords(hostnames: readonly string[], prefix: string = PEERS_PREFIX): string {
  const keep = hostnames.map((h) => `-e ${q(`${prefix}${h}`)}`).join(' ');
  return `{ ${ETCDCTL} ${ASK} get --prefix --keys-only ${q(prefix)} || true; } | grep -vxF -e '' ${keep}`;
}

function pruneStep(ctx: HostContext): Step {
  const hosts = ctx.servers.map((s) => s.hostname);
  const stale = `{ ${PER_SERVER_PREFIXES.map((p) => `${staleRecords(hosts, p)};`).join(' ')} }`;
  return shell.command(
    'Forget servers no longer in servers.txt',
    `[ -z "$(${stale} || true)" ]`,
    `{ ${stale} || true; } | while read -r k; do ${ETCDCTL} ${ASK} del "$k" >/dev/null; done`,
  );
}

export const peers: Component = {
  name: 'peers',
  description: "each server's WireGuard key and addresses, recorded in etcd",
  phases: (ctx) => [
    {
      title: 'Private network in etcd',
      steps: [recordStep(ctx), ...(ctx.self === ctx.servers[0] ? [pruneStep(ctx)] : [])],
    },
  ],
  // Before etcd goes: a destroyed server's record goes with it (skipped when etcd is down).
  teardown: (ctx) => {
    const key = q(`${PEERS_PREFIX}${ctx.self.hostname}`);
    return [
      {
        title: 'Forget this server in etcd',
        steps: [
          shell.command(
            "Delete this server's private network record",
            `! { ${ETCDCTL} ${ASK} get --keys-only ${key} 2>/dev/null || true; } | grep -q .`,
            `${ETCDCTL} ${ASK} del ${key} >/dev/null || true`,
          ),
        ],
      },
    ];
  },
};
