/**
 * Preflight: every server probed in parallel (one read-only round trip each) and checked; any
 * problem stops the run before anything changes, naming the server.
 */
import type { ClusterServer } from '../components/types.ts';
import { ShoestringError } from '../errors.ts';
import type { Reporter } from '../plan/events.ts';
import { checkCluster, checkHost } from '../preflight/check.ts';
import type { Transport } from '../ssh/transport.ts';
import { gatherFacts, type Inputs, type Survey } from './context.ts';

export async function preflight(
  transport: Transport,
  inputs: Inputs,
  parallel: number,
  reporter: Reporter,
  surveys: readonly Survey[] = [],
): Promise<ClusterServer[]> {
  const servers = inputs.servers;
  reporter.event({ type: 'stage', title: 'Preflight', hosts: servers.length });
  const gathered = await gatherFacts(transport, servers, parallel, surveys, inputs.config.network);
  // A server that could not be reached says what to check (ConnectError's hint).
  const problems: string[] = gathered.failures.map((f) =>
    f.hint ? `${f.message}: ${f.hint}` : f.message,
  );
  const hostnames = new Map<string, string>();
  gathered.servers.forEach((s, i) => {
    const verdict = checkHost({
      host: s.server.spec,
      facts: s.facts,
      localEpoch: gathered.epochs[i] ?? Math.floor(Date.now() / 1000),
      database: inputs.config.database,
      webServer: inputs.config.webServer,
    });
    problems.push(...verdict.problems);
    for (const w of verdict.warnings)
      reporter.event({ type: 'warn', host: s.server.spec, message: w });
    const other = hostnames.get(s.hostname);
    if (other)
      problems.push(
        `${s.server.spec}: host name ${s.hostname} is also ${other}'s; every server needs its own name`,
      );
    hostnames.set(s.hostname, s.server.spec);
  });
  for (const w of checkCluster(servers.length).warnings)
    reporter.event({ type: 'warn', host: 'cluster', message: w });
  if (problems.length > 0) {
    for (const p of problems) reporter.event({ type: 'problem', host: 'preflight', message: p });
    throw new ShoestringError(
      `preflight found ${problems.length} problem(s); nothing was changed`,
      {
        hint: 'fix the problems listed above and run again (a server you no longer use: remove it from the servers file)',
      },
    );
  }
  // servers.txt order (gatherFacts keeps it).
  return gathered.servers;
}
