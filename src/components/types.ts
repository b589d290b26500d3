/** What a component is: a name, the phases it wants on each host, and its health gate. */
import type { Config } from '../config/env.ts';
import type { Server } from '../config/servers.ts';
import type { PhaseSource } from '../plan/runner.ts';
import type { HostFacts } from '../preflight/probe.ts';
import type { Target, Transport } from '../ssh/transport.ts';

/** A server with what preflight learned about it. */
export interface ClusterServer {
  readonly server: Server;
  readonly target: Target;
  readonly facts: HostFacts;
  /** The address other servers reach it at (its servers.txt address, or its first address). */
  readonly address: string;
  readonly hostname: string;
}

export interface ClusterContext {
  readonly config: Config;
  readonly servers: readonly ClusterServer[];
  readonly transport: Transport;
  readonly dryRun: boolean;
  /** Host names provisioned at the same time in the first rolling group. */
  readonly startTogether: ReadonlySet<string>;
}

export interface HostContext extends ClusterContext {
  readonly self: ClusterServer;
}

export interface Component {
  readonly name: string;
  readonly description: string;
  /** Cluster-wide work before any host is provisioned (may read state over SSH). */
  prepare?(ctx: ClusterContext): Promise<void>;
  /** The phases for one host. */
  phases(ctx: HostContext): PhaseSource[];
  /** Called when the host's phases ended, failed or not: release what its phases hold. */
  hostDone?(ctx: HostContext): void;
  /** Health gate after the host was provisioned: throws GateError when unhealthy. */
  gate?(ctx: HostContext): Promise<void>;
  /**
   * Removes the component from a host being destroyed (stop services, leave clusters, delete
   * its config and state). Runs in reverse component order; must tolerate a half-installed host.
   */
  teardown?(ctx: HostContext): Promise<void>;
}
