/** Where a script runs: a server as servers.txt names it, and how to reach it. */
export interface Target {
  /** Display name (the servers.txt entry). */
  readonly name: string;
  readonly host: string;
  readonly user?: string | undefined;
  readonly port?: number | undefined;
}
