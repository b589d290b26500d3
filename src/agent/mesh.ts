/**
 * Every server: notice within a fraction of a second that another server went silent (died, or
 * cut off: nothing answers, not even a reset) and tell the local uWSGI fastrouter to stop sending
 * requests to that server's app instances (an unsubscribe datagram per instance, the same
 * message an instance sends when it leaves). Without this the fastrouter keeps picking a dead
 * instance until its subscription tolerance runs out, and each such request fails after the
 * fastrouter's timeout (Apache cannot send it again). The connects to that server's instances
 * still pending when it is found silent are aborted, so that the router retries those requests
 * on another instance (abort-connects.ts).
 *
 * Liveness: the agents ping each other over the private network (UDP, every 100 ms). A server
 * from which no answer came for 300 ms is silent. A false alarm (a busy agent) costs nothing: the
 * instances announce themselves every second and are back at once. Beyond 20 other servers,
 * each is pinged less often (pingPlan), so that a server sends at most PINGS_PER_SECOND pings.
 *
 * Readiness: a server whose instances cannot work (readiness.ts: its database proxy has no
 * member up) stops answering pings, so every other server treats it as silent; and while
 * another server is there to serve, it takes its own instances off its own fastrouter too. It
 * answers again once it is ready: its instances come back with their next announcement.
 *
 * Leaving: when the agent stops (a shutdown or reboot: it stops before the uWSGI emperor), it
 * stops answering and waits `drainMs()`, so that every router has taken this server's instances
 * off and their requests in flight have ended before the emperor stops them.
 */
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { abortConnects } from './abort-connects.ts';

export const MESH_PORT = 7001;
export const PING_EVERY_MS = 100;
export const SILENT_AFTER_MS = 300;
/**
 * Pings a server sends per second at most (and pongs: its peers ping it as often): 20 peers
 * every 100 ms. With 99 peers every 100 ms it would be 990 of each, about 1,980 datagrams a
 * second in and out of every server (BENCHMARKS.md, "Planning and scale past the lab").
 */
export const PINGS_PER_SECOND = 200;

/** How a server pings its peers: a tick every `tickMs`; each peer every `ticksPerPing` ticks. */
export interface PingPlan {
  readonly tickMs: number;
  readonly ticksPerPing: number;
  /** A peer that has not answered for this long is silent (three of its intervals). */
  readonly silentAfterMs: number;
}

/**
 * The plan for `peers` peers (pure): every peer at every tick (100 ms, silent after 300 ms) up
 * to 20 peers; beyond, each peer every few ticks, so that at most PINGS_PER_SECOND pings go out
 * a second: 99 peers every 500 ms, silent after 1.5 s (still before the routers' own tolerance).
 */
export function pingPlan(peers: number): PingPlan {
  const ticksPerPing = Math.max(1, Math.ceil((peers * 1000) / PINGS_PER_SECOND / PING_EVERY_MS));
  return {
    tickMs: PING_EVERY_MS,
    ticksPerPing,
    silentAfterMs: SILENT_AFTER_MS * ticksPerPing,
  };
}

/**
 * How long a leaving server waits (pure): until its peers find it silent, plus a second for
 * the requests already sent to its instances (the fastrouter's timeout is longer, but a live
 * instance answers app1 and app2 in milliseconds; a slower request is cut at the stop).
 */
export function drainMs(peers: number): number {
  return pingPlan(peers).silentAfterMs + DRAIN_IN_FLIGHT_MS;
}
export const DRAIN_IN_FLIGHT_MS = 1000;
/** A silent server's pending connects are aborted when it is found silent and again after this. */
export const ABORT_AGAIN_MS = 200;

/** The peers pinged at tick number `tick`: each every plan.ticksPerPing ticks, spread evenly. */
export function pingedAt(peers: readonly string[], tick: number, plan: PingPlan): string[] {
  return peers.filter((_, i) => (i + tick) % plan.ticksPerPing === 0);
}

/** uWSGI's subscription packet: header (modifier1 224, body size, modifier2 = command) + body. */
export function subscriptionPacket(key: string, address: string, unsubscribe: boolean): Buffer {
  const kv = (k: string, v: string): Buffer => {
    const kb = Buffer.from(k);
    const vb = Buffer.from(v);
    const b = Buffer.alloc(4 + kb.length + vb.length);
    b.writeUInt16LE(kb.length, 0);
    kb.copy(b, 2);
    b.writeUInt16LE(vb.length, 2 + kb.length);
    vb.copy(b, 4 + kb.length);
    return b;
  };
  const body = Buffer.concat([kv('key', key), kv('address', address)]);
  const head = Buffer.alloc(4);
  head.writeUInt8(224, 0);
  head.writeUInt16LE(body.length, 1);
  head.writeUInt8(unsubscribe ? 1 : 0, 3);
  return Buffer.concat([head, body]);
}

export interface RouterNode {
  readonly key: string;
  /** ip:port */
  readonly node: string;
  /**
   * Not marked failed. The router keeps a node it has marked failed (an unsubscribe, a failed
   * connect) while a request still holds it, but never picks it again.
   */
  readonly live: boolean;
}

/** Pure: the fastrouter stats JSON → (key, node) pairs. */
export function routerNodes(stats: string): RouterNode[] {
  try {
    const s = JSON.parse(stats) as {
      subscriptions?: { key?: string; nodes?: { name?: string; death_mark?: number }[] }[];
    };
    return (s.subscriptions ?? []).flatMap((sub) =>
      (sub.nodes ?? []).flatMap((n) =>
        sub.key && n.name ? [{ key: sub.key, node: n.name, live: !n.death_mark }] : [],
      ),
    );
  } catch {
    return [];
  }
}

/**
 * Pure: this server's own nodes that can leave its router while it is not ready: those of an
 * app that also has a live node of another server that is not silent (right after a heal the
 * others' instances are back only with their next announcement: until then the app keeps its
 * own, rather than none). A node the router marked failed covers nothing: it stays listed while
 * a request holds it, but the router will not pick it again (found by bench/partition-heal.ts:
 * a healed server took its own instances off for such nodes and had none left for a moment).
 */
export function ownNodesCovered(
  nodes: readonly RouterNode[],
  self: string,
  silent: ReadonlySet<string>,
): RouterNode[] {
  const host = (n: RouterNode): string => n.node.slice(0, n.node.lastIndexOf(':'));
  const covered = new Set(
    nodes.filter((n) => n.live && host(n) !== self && !silent.has(host(n))).map((n) => n.key),
  );
  return nodes.filter((n) => n.live && host(n) === self && covered.has(n.key));
}

/** Pure: which peers are silent at `now`, given when each last answered (never: not judged). */
export function silentPeers(
  lastHeard: ReadonlyMap<string, number>,
  now: number,
  silentAfter = SILENT_AFTER_MS,
): string[] {
  return [...lastHeard].filter(([, t]) => now - t > silentAfter).map(([p]) => p);
}

function readStats(port: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const s = connect({ host: '127.0.0.1', port }, () => undefined);
    s.setTimeout(1000, () => s.destroy());
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('close', () => resolve(text));
    s.on('error', () => resolve(''));
  });
}

export interface MeshOptions {
  /** This server's private address. */
  readonly self: string;
  readonly statsPort: number;
  readonly subscriptionPort: number;
  readonly log: (line: string) => void;
}

export class MeshWatch {
  #socket: Socket | undefined;
  #peers: string[] = [];
  readonly #lastHeard = new Map<string, number>();
  readonly #silent = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;
  #ready = true;
  #leaving = false;

  constructor(private readonly o: MeshOptions) {}

  /** Listens on the private address (fails while it is not up yet: call again). */
  start(): Promise<void> {
    const socket = createSocket('udp4');
    socket.on('message', (msg, from) => {
      const text = msg.toString();
      if (text.startsWith('ping ')) {
        if (this.#ready && !this.#leaving)
          socket.send(`pong ${text.slice(5)}`, from.port, from.address);
      } else if (text.startsWith('pong ')) this.#heard(from.address);
    });
    return new Promise((resolve, reject) => {
      socket.once('error', (e) => {
        socket.close();
        reject(e);
      });
      socket.bind(MESH_PORT, this.o.self, () => {
        socket.removeAllListeners('error');
        socket.on('error', (e) => this.o.log(`mesh: ${e.message}`));
        this.#socket = socket;
        this.#timer = setInterval(() => void this.#tick(), PING_EVERY_MS);
        resolve();
      });
    });
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#socket?.close();
    this.#socket = undefined;
  }

  #send(data: string | Buffer, port: number, address: string): void {
    this.#socket?.send(data, port, address);
  }

  /** The other servers' private addresses (from etcd; refreshed by the caller). */
  set peers(list: readonly string[]) {
    this.#peers = list.filter((p) => p !== this.o.self);
    for (const p of [...this.#lastHeard.keys()]) {
      if (!this.#peers.includes(p)) {
        this.#lastHeard.delete(p);
        this.#silent.delete(p);
      }
    }
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Whether this server's instances can work (see readiness.ts); set by the caller. */
  set ready(value: boolean) {
    this.#ready = value;
  }

  /** Stops answering for good (see Leaving above); returns how long to wait before exiting. */
  leave(): number {
    this.#leaving = true;
    return drainMs(this.#peers.length);
  }

  #heard(peer: string): void {
    if (!this.#peers.includes(peer)) return;
    this.#lastHeard.set(peer, Date.now());
    if (this.#silent.delete(peer)) this.o.log(`mesh: ${peer} answers again`);
  }

  async #tick(): Promise<void> {
    const now = Date.now();
    const plan = pingPlan(this.#peers.length);
    for (const p of pingedAt(this.#peers, this.#ticks++, plan))
      this.#send(`ping ${now}`, MESH_PORT, p);
    const silent = silentPeers(this.#lastHeard, now, plan.silentAfterMs);
    const fresh = silent.filter((p) => !this.#silent.has(p));
    for (const p of fresh) this.#silent.add(p);
    // Newly silent: at once. Still silent: at every tick, since a server that is reachable but
    // not ready (it answers no ping) still announces its instances every second.
    if (this.#silent.size > 0) {
      await this.#unsubscribe([...this.#silent], fresh);
    }
    // Not ready: its own instances off its own fastrouter, at every tick (they announce
    // themselves every second), for each app another server's instance serves instead.
    if (!this.#ready || this.#leaving) {
      const nodes = routerNodes(await readStats(this.o.statsPort));
      for (const n of ownNodesCovered(nodes, this.o.self, this.#silent))
        this.#send(subscriptionPacket(n.key, n.node, true), this.o.subscriptionPort, this.o.self);
    }
  }

  async #unsubscribe(peers: readonly string[], fresh: readonly string[]): Promise<void> {
    const nodes = routerNodes(await readStats(this.o.statsPort)).filter((n) =>
      peers.some((p) => n.node.startsWith(`${p}:`)),
    );
    for (const n of nodes) {
      this.#send(subscriptionPacket(n.key, n.node, true), this.o.subscriptionPort, this.o.self);
    }
    const silentFor = pingPlan(this.#peers.length).silentAfterMs;
    for (const p of fresh) {
      const mine = nodes.filter((n) => n.node.startsWith(`${p}:`));
      const aborted = await this.#abort(mine);
      this.o.log(
        `mesh: ${p} silent for ${silentFor} ms: ${mine.length} instance(s) taken off the local fastrouter (${mine.map((n) => n.key).join(', ') || 'none subscribed'})${aborted}`,
      );
      // Once more a moment later: a connect the router started before it read the unsubscribe.
      setTimeout(() => {
        void this.#abort(mine).then((again) => again && this.o.log(`mesh: ${p}${again}`));
      }, ABORT_AGAIN_MS);
    }
  }

  /** See abort-connects.ts; the words for the log ('' when there was nothing to abort). */
  async #abort(nodes: readonly RouterNode[]): Promise<string> {
    const r = await abortConnects([...new Set(nodes.map((n) => n.node))]);
    if (typeof r === 'string') return `; ${r}`;
    return r > 0 ? `; ${r} pending connect(s) to it aborted (retried on another instance)` : '';
  }
}
