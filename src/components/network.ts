/**
 * The private network: a WireGuard mesh, every server a peer of every other, one private address
 * each (see network/addresses.ts). Each server makes its own key; only public keys travel, read
 * by provision from every server's survey (the cluster's state is the servers' own files: a
 * server that answers preflight always reports its key and address).
 *
 * New peers are added everywhere before any host is rolled (a new server can then reach every
 * other one before it joins etcd); a peer no longer in servers.txt is dropped by each server's
 * own phase, after etcd let go of it. Servers on a private network of their own (an address per
 * line in servers.txt) skip all of this.
 */
import type { Phase } from '../plan/phase.ts';
import { apt, files, shell, systemd, type Notify, type Step } from '../plan/steps/index.ts';
import { pMap } from '../util/pmap.ts';
import {
  configuredPeers,
  isWireGuardKey,
  parseNetworkSurvey,
  surveyOf,
  WG_CONF,
  WG_DIR,
  WG_KEY,
  type NetworkSurvey,
} from '../network/survey.ts';
import { meshFile, plainMeshFile, type MeshFile } from '../network/mesh-file.ts';
import {
  renderWgDropIn,
  renderWgSync,
  WG_DROP_IN,
  WG_SERVICE,
  WG_SYNC,
  type Peer,
} from '../network/wireguard.ts';
import { render } from '../templates.ts';
import type { ClusterContext, ClusterServer, Component, HostContext } from './types.ts';

const KEY_UNKNOWN = '(made on the first run)';

/**
 * Services that bind the private address or talk over it: at boot they must start after the
 * interface that carries it (etcd started first failed for good: "cannot assign requested
 * address"). etcd's own drop-in and the etcd proxy's unit say so themselves (on a proxy
 * server etcd is masked: a drop-in for it there asked for a daemon-reload on every run).
 */
export const AFTER_MESH = ['uwsgi-emperor'] as const;
const afterMeshDropIn = (unit: string) =>
  `/etc/systemd/system/${unit}.service.d/shoestring-network.conf`;

export interface NetworkState {
  /** hostname → WireGuard public key (KEY_UNKNOWN in a dry run, before the key exists). */
  readonly keys: ReadonlyMap<string, string>;
  readonly surveys: ReadonlyMap<string, NetworkSurvey>;
  /**
   * Each server's phase as prepare made it, when it lists no departing peer (then it is the
   * phase the host's own run plans: made once, not twice, as it lists every other server).
   */
  readonly made?: ReadonlyMap<string, Phase>;
}

/** Uses WireGuard (servers.txt gives no private address). */
export function usesWireGuard(ctx: ClusterContext): boolean {
  // ownPrivateNetwork's rule, without making a list of the servers at each of its many calls.
  const own = ctx.servers.length > 0 && ctx.servers.every((s) => s.server.private !== undefined);
  return !own;
}

function packages(survey: NetworkSurvey): Step {
  // Without WireGuard in the kernel (containers), Debian's userspace wireguard-go; wg-quick
  // falls back to it by itself.
  return apt.packages(survey.kernel ? ['wireguard-tools'] : ['wireguard-tools', 'wireguard-go']);
}

const keyStep = shell.command(
  "Make this server's WireGuard key",
  `[ -s ${WG_KEY} ]`,
  `install -d -m 0700 ${WG_DIR}\n(umask 077; wg genkey > ${WG_KEY}.new)\nmv ${WG_KEY}.new ${WG_KEY}`,
);

function keyPhase(survey: NetworkSurvey): Phase {
  return { title: 'WireGuard key', steps: [packages(survey), keyStep] };
}

/** meshPeers' last list per list of servers, with the keys it was made from. */
const meshes = new WeakMap<
  readonly ClusterServer[],
  { keys: NetworkState['keys']; peers: Peer[] }
>();

/**
 * Every server as a peer, in servers.txt order (one object per server, shared by all files; the
 * same list for every host, so the text the files share is made once).
 */
function meshPeers(ctx: ClusterContext, keys: NetworkState['keys']): Peer[] {
  const known = meshes.get(ctx.servers);
  if (known && known.keys === keys) return known.peers;
  const peers = ctx.servers.map((s) => ({
    name: s.hostname,
    publicKey: keys.get(s.hostname) ?? KEY_UNKNOWN,
    address: s.address,
    private: s.private,
  }));
  meshes.set(ctx.servers, { keys, peers });
  return peers;
}

/** The peers of `self`: every other server. `all`: meshPeers(ctx, keys). */
function peersOf(ctx: ClusterContext, self: ClusterServer, all: readonly Peer[]): Peer[] {
  return all.filter((_, i) => ctx.servers[i] !== self);
}

/** The file of `self` listing `peers`. */
function confOf(ctx: ClusterContext, self: ClusterServer, peers: readonly Peer[]): MeshFile {
  const { cidr, port } = ctx.config.network;
  return plainMeshFile({ address: self.private, cidr, port, peers });
}

/** The file of `self` listing every other server (`all`: meshPeers(ctx, keys)). */
function meshConfOf(ctx: ClusterContext, self: ClusterServer, all: readonly Peer[]): MeshFile {
  const { cidr, port } = ctx.config.network;
  const at = ctx.servers.indexOf(self);
  // From the text every server's file shares, when self is there once (as it always is).
  const once = at >= 0 && ctx.servers.indexOf(self, at + 1) < 0;
  const shared = once ? meshFile({ address: self.private, cidr, port, all, self: at }) : undefined;
  return shared ?? confOf(ctx, self, peersOf(ctx, self, all));
}

function configPhase(
  survey: NetworkSurvey,
  self: ClusterServer,
  conf: MeshFile,
): { phase: Phase; conf: MeshFile } {
  // A new address needs the interface made again; new peers are applied in place.
  const moved = survey.address !== undefined && survey.address !== self.private;
  const notify: Notify = { service: WG_SERVICE, action: moved ? 'restart' : 'reload' };
  const phase: Phase = {
    title: 'Private network',
    steps: [
      packages(survey),
      keyStep,
      files.file(WG_SYNC, renderWgSync(), { mode: '0755' }),
      files.file(WG_DROP_IN, renderWgDropIn()),
      systemd.daemonReload([{ unit: WG_SERVICE, files: [WG_DROP_IN] }]),
      files.file(WG_CONF, conf, { mode: '0600', notify: [notify] }),
      systemd.service(WG_SERVICE),
      ...AFTER_MESH.map((u) =>
        files.file(
          afterMeshDropIn(u),
          render('network/after-wg.conf.hbs', { service: WG_SERVICE }),
        ),
      ),
      systemd.daemonReload(AFTER_MESH.map((u) => ({ unit: u, files: [afterMeshDropIn(u)] }))),
    ],
  };
  return { phase, conf };
}

/** Peers a server has now that servers.txt no longer lists: kept until its own phase. */
function leaving(self: ClusterServer, survey: NetworkSurvey, peers: readonly Peer[]): Peer[] {
  const configured = configuredPeers(survey.conf);
  if (configured.length === 0) return [];
  const listed = new Set(peers.map((p) => p.publicKey));
  return configured
    .filter((p) => !listed.has(p.publicKey))
    .map((p) => ({
      name: 'no longer in servers.txt',
      publicKey: p.publicKey,
      address: (p.endpoint ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
      private: p.allowedIps.replace(/\/32$/, ''),
    }))
    .filter((p) => p.address !== '' && p.private !== self.private);
}

export const network: Component<NetworkState> = {
  name: 'network',
  description: 'the private network: a WireGuard mesh between the servers',
  async prepare(ctx, io) {
    const surveys = new Map(ctx.servers.map((s) => [s.hostname, surveyOf(s)]));
    const keys = new Map<string, string>();
    if (!usesWireGuard(ctx)) return { keys, surveys };
    const survey = (s: ClusterServer) => surveys.get(s.hostname) ?? parseNetworkSurvey('');
    await pMap(ctx.servers, 10, async (s) => {
      let key = survey(s).publicKey;
      if (!key) {
        await io.apply(s, keyPhase(survey(s)));
        const answer = await io.query(
          s,
          `wg pubkey < ${WG_KEY} 2>/dev/null || true`,
          'WireGuard key',
        );
        key = isWireGuardKey(answer.trim()) ? answer.trim() : undefined;
      }
      keys.set(s.hostname, key ?? KEY_UNKNOWN);
    });
    // Every server knows every peer before any host is rolled.
    const made = new Map<string, Phase>();
    const mesh = meshPeers(ctx, keys);
    await pMap(ctx.servers, 10, async (s) => {
      const own = configPhase(survey(s), s, meshConfOf(ctx, s, mesh));
      // Its file lists exactly these peers already: nobody is leaving, nothing to change.
      if (own.conf.sameAs(survey(s).conf)) {
        made.set(s.hostname, own.phase);
        return;
      }
      const peers = peersOf(ctx, s, mesh);
      const gone = leaving(s, survey(s), peers);
      if (gone.length === 0) {
        made.set(s.hostname, own.phase);
        await io.apply(s, own.phase);
        return;
      }
      const withGone = configPhase(survey(s), s, confOf(ctx, s, [...peers, ...gone]));
      if (!withGone.conf.sameAs(survey(s).conf)) await io.apply(s, withGone.phase);
    });
    return { keys, surveys, made };
  },
  phases(ctx: HostContext, state) {
    if (!usesWireGuard(ctx)) return [];
    const made = state.made?.get(ctx.self.hostname);
    if (made) return [made];
    const survey = state.surveys.get(ctx.self.hostname) ?? parseNetworkSurvey('');
    return [
      configPhase(survey, ctx.self, meshConfOf(ctx, ctx.self, meshPeers(ctx, state.keys))).phase,
    ];
  },
  teardown: () => [
    {
      title: 'Remove the private network',
      steps: [
        systemd.service(WG_SERVICE, { enabled: false, running: false }),
        systemd.unitAbsent(WG_SERVICE, [WG_DROP_IN]),
        files.absent(WG_CONF),
        files.absent(WG_KEY),
        files.absent(WG_SYNC),
        ...AFTER_MESH.map((u) => files.absent(afterMeshDropIn(u))),
      ],
    },
  ],
};
