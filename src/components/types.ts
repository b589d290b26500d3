/**
 * What a component is: data. A name, per-run state made by `prepare`, the phases it wants on each
 * host, its health gates, and the phases that take it away again. Components never touch a
 * server: the runner does every effect (and dry runs), takes turns and polls gates.
 */
import type { App } from '../apps/discover.ts';
import type { Config } from '../config/env.ts';
import type { DatabaseLayout } from '../database/layout.ts';
import type { Server } from '../config/servers.ts';
import type { Gate, Phase } from '../plan/phase.ts';
import type { HostFacts } from '../preflight/probe.ts';
import type { Target } from '../ssh/target.ts';

/** A server with what preflight learned about it. */
export interface ClusterServer {
  readonly server: Server;
  readonly target: Target;
  readonly facts: HostFacts;
  /** The address other servers reach it at (its servers.txt address, or its first address). */
  readonly address: string;
  /**
   * Its private address: where every cluster service listens and other servers reach it (on
   * the WireGuard mesh, or the private network servers.txt names).
   */
  readonly private: string;
  readonly hostname: string;
  /** What each component's `survey` printed on this server (component name → output). */
  readonly surveys: ReadonlyMap<string, string>;
}

export interface ClusterContext {
  readonly config: Config;
  readonly servers: readonly ClusterServer[];
  /** The apps under apps/, validated. */
  readonly apps: readonly App[];
  /** Host names provisioned at the same time in the first rolling group. */
  readonly startTogether: ReadonlySet<string>;
  /** Where the database runs (no members when DATABASE=none). */
  readonly database: DatabaseLayout<ClusterServer>;
  /** --recover: the operator asked for a database recovery that is not unambiguous. */
  readonly recover: boolean;
}

export interface HostContext extends ClusterContext {
  readonly self: ClusterServer;
}

/**
 * What `prepare` may do, through the runner: ask a server (read-only, also in dry runs), and run
 * a phase on one server before the hosts are provisioned (in a dry run: shown, not applied).
 */
export interface ClusterIO {
  /** A dry run: `apply` shows and changes nothing; `prepare` should not change anything else. */
  readonly dryRun: boolean;
  query(on: ClusterServer, script: string, what: string): Promise<string>;
  apply(on: ClusterServer, phase: Phase): Promise<void>;
}

export interface Component<S = unknown> {
  readonly name: string;
  readonly description: string;
  /**
   * A read-only script whose output `prepare` reads from each server's `surveys`: it runs in the
   * preflight round trip, so the cluster-wide facts cost no round trip of their own.
   */
  readonly survey?: string;
  /** Cluster-wide facts and work before any host; its result is handed to the other methods. */
  prepare?(ctx: ClusterContext, io: ClusterIO): Promise<S>;
  /** The phases for one host. */
  phases(ctx: HostContext, state: S): Phase[];
  /** Health gates polled after a host changed. */
  gates?(ctx: HostContext, state: S): Gate[];
  /**
   * Phases that remove the component from a host being destroyed (leave clusters, stop
   * services, delete configuration and state); run in reverse component order, tolerant of a
   * half-installed host. Packages stay.
   */
  teardown?(ctx: HostContext): Phase[];
}
