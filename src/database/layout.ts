/**
 * Where the database runs (pure): the members (db-servers.txt, default every server), and with
 * exactly two members the Galera arbitrator (garbd) on the first other server, so that a
 * surviving member keeps a majority. Galera needs a majority of the group to accept writes: an
 * even group splits into halves that both stop.
 */
import type { Database } from '../config/env.ts';
import { ConfigError } from '../errors.ts';

export interface DatabaseLayout<S> {
  readonly members: readonly S[];
  /** garbd's server: only with exactly two members. */
  readonly arbitrator: S | undefined;
  /** wsrep_cluster_size when everything is up (garbd counts as a member of the group). */
  readonly expectedSize: number;
}

export function databaseLayout<S>(
  database: Database,
  servers: readonly S[],
  members: readonly S[],
  describe: (s: S) => string,
  file: string,
): DatabaseLayout<S> {
  if (database === 'none') return { members: [], arbitrator: undefined, expectedSize: 0 };
  const n = members.length;
  if (database === 'tidb') {
    return { members, arbitrator: undefined, expectedSize: n };
  }
  if (n === 2) {
    const arbitrator = servers.find((s) => !members.includes(s));
    if (arbitrator === undefined) {
      throw new ConfigError(
        `DATABASE=galera with 2 database servers needs a third server for the Galera arbitrator (garbd)`,
        [],
        { hint: `add a server to servers.txt (it need not be in ${file}), or make it 3 members` },
      );
    }
    return { members, arbitrator, expectedSize: 3 };
  }
  if (n < 3 || n % 2 === 0) {
    const names = members.map(describe).join(', ');
    throw new ConfigError(
      `DATABASE=galera needs an odd number of database servers, at least 3 (or 2 plus a third server for the arbitrator); ${file} gives ${n}${n > 0 ? `: ${names}` : ''}`,
      [],
      {
        hint:
          n < 3
            ? 'add servers (a majority must survive a failure: with 1 there is no replica)'
            : `add or remove one server in ${file} (an even group that splits in half stops on both sides)`,
      },
    );
  }
  return { members, arbitrator: undefined, expectedSize: n };
}
