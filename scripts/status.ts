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
import { pMap } from '../src/ssh/transport.ts';

const spec = {
  usage: 'scripts/status.ts [options]',
  summary:
    'Shows the health of every server: SSH, its private address and WireGuard handshakes, etcd\nmember (leader marked), web front and /healthz, fastrouter subscriptions, vassals, and the\ndatabase where there is one.',
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
  if (values.json) outJson(rows, 2);
  else for (const line of statusTable(rows, painter)) out(line);
  return allHealthy(rows) ? 0 : 1;
});
