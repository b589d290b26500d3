#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/loader.mjs" "$0" "$@"
/**
 * scripts/status.ts: one table, servers × (ssh, etcd member/leader, web front, fastrouter,
 * vassals, database when present). One SSH round trip per server, parsed purely.
 */
import {
  EXIT_CODES_HELP,
  INPUT_OPTION_HELP,
  INPUT_OPTIONS,
  parseCommand,
} from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { isTTY, out, outJson, paint } from '../src/cli/output.ts';
import { ShoestringError } from '../src/errors.ts';
import { inputPaths, loadInputs, makeTransport, targetOf } from '../src/provision/context.ts';
import {
  parseStatusOutput,
  STATUS_SCRIPT,
  unreachableRow,
  type StatusRow,
} from '../src/status/probe.ts';
import { allHealthy, statusTable, type Painter } from '../src/status/table.ts';
import {
  CLUSTER_STATUS_SCRIPT,
  clusterLines,
  parseClusterStatus,
  type ClusterStatus,
} from '../src/status/cluster.ts';
import type { Server } from '../src/config/servers.ts';

/** The cluster's state in etcd, read on the first server that answers. */
async function clusterStatus(
  servers: readonly Server[],
  run: (s: Server) => Promise<string>,
): Promise<ClusterStatus | undefined> {
  for (const s of servers) {
    try {
      return parseClusterStatus(await run(s));
    } catch {
      // the next one
    }
  }
  return undefined;
}
import { pMap } from '../src/ssh/transport.ts';

const spec = {
  usage: 'scripts/status.ts [options]',
  summary:
    'Shows the health of every server: SSH, its private address and WireGuard handshakes, etcd\nmember (leader marked), web front and /healthz, fastrouter subscriptions, vassals, and the\ndatabase where there is one. Then the cluster: who holds the agent duties, the last health\nround, each server in or out of DNS, the last DNS changes, the certificate and its expiry.',
  options: { ...INPUT_OPTIONS, json: { type: 'boolean' } },
  optionHelp: [...INPUT_OPTION_HELP, ['--json', 'print the rows as JSON']],
  epilog: `Exit codes: 0 all healthy with one etcd leader, 1 something is not.\n${EXIT_CODES_HELP}`,
} as const;

const painter: Painter = (h, t) =>
  isTTY() ? paint(h === 'ok' ? 'green' : h === 'warn' ? 'yellow' : 'red', t) : t;

main(async () => {
  const { values } = parseCommand(spec, process.argv.slice(2));
  const inputs = loadInputs(inputPaths(values));
  const t = makeTransport(inputs.config);
  const rows: StatusRow[] = await pMap(inputs.servers, 20, async (s) => {
    try {
      const res = await t.run(targetOf(s), STATUS_SCRIPT, { what: 'status', timeoutMs: 30_000 });
      return parseStatusOutput(s.spec, res.stdout, s.private);
    } catch (e) {
      if (e instanceof ShoestringError) return unreachableRow(s.spec, 'unreachable');
      throw e;
    }
  });
  const cluster = await clusterStatus(
    inputs.servers,
    async (s) =>
      (await t.run(targetOf(s), CLUSTER_STATUS_SCRIPT, { what: 'status', timeoutMs: 30_000 }))
        .stdout,
  );
  const lines = cluster ? clusterLines(cluster, Date.now()) : [];
  if (values.json) outJson({ servers: rows, cluster: cluster ?? null }, 2);
  else {
    for (const line of statusTable(rows, painter)) out(line);
    if (inputs.config.dns.provider !== 'none') {
      out('');
      for (const l of lines) out(painter(l.level, l.text));
    }
  }
  const clusterOk = inputs.config.dns.provider === 'none' || lines.every((l) => l.level !== 'bad');
  return allHealthy(rows) && clusterOk ? 0 : 1;
});
