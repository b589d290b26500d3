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

/**
 * `file` names where the members come from: db-servers.txt, or with `everyServer` (there is no
 * db-servers.txt) the servers file, whose every server is a member.
 */
export function databaseLayout<S>(
  database: Database,
  servers: readonly S[],
  members: readonly S[],
  describe: (s: S) => string,
  file: string,
  everyServer = false,
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
        {
          hint: everyServer
            ? `add a third server to ${file}`
            : `add a server to servers.txt (it need not be in ${file}), or make it 3 members`,
        },
      );
    }
    return { members, arbitrator, expectedSize: 3 };
  }
  if (n < 3 || n % 2 === 0) {
    const names = members.map(describe).join(', ');
    const source = everyServer
      ? `${file} lists ${n} and every server is one (there is no db-servers.txt beside it)`
      : `${file} gives ${n}`;
    throw new ConfigError(
      `DATABASE=galera needs an odd number of database servers, at least 3 (or 2 plus a third server for the arbitrator); ${source}${n > 0 ? `: ${names}` : ''}`,
      [],
      {
        hint:
          n < 3
            ? 'add servers (a majority must survive a failure: with 1 there is no replica)'
            : everyServer
              ? `add or remove one server in ${file}, or list an odd number of them in db-servers.txt beside it (an even group that splits in half stops on both sides)`
              : `add or remove one server in ${file} (an even group that splits in half stops on both sides)`,
      },
    );
  }
  return { members, arbitrator: undefined, expectedSize: n };
}
