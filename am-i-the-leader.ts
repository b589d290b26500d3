#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/node_modules/tsx/dist/loader.mjs" "$0" "$@"
/**
 * ./am-i-the-leader.ts: is this server's etcd member the leader? On a server: asks the local
 * member. With a server argument: asks that server's member over SSH. Servers also have
 * /usr/local/bin/am-i-the-leader (installed by provision; Python, no Node needed there).
 */
import { INPUT_OPTION_HELP, INPUT_OPTIONS, parseCommand } from './src/cli/args.ts';
import { main } from './src/cli/main.ts';
import { err, out } from './src/cli/output.ts';
import { parseServers } from './src/config/servers.ts';
import { verdictExitCode } from './src/etcd/status.ts';
import { ConfigError } from './src/errors.ts';
import { askLocal, askRemote, type LeaderAnswer } from './src/leader/ask.ts';
import { inputPaths, loadInputs, makeTransport, targetOf } from './src/provision/context.ts';

const spec = {
  usage: './am-i-the-leader.ts [server] [options]',
  summary:
    "Prints true (exit 0) if the etcd member is the cluster's leader, false (exit 1) if it is a\nfollower, unknown (exit 2) if it cannot tell. Without a server: the member on this machine.",
  options: { ...INPUT_OPTIONS, which: { type: 'boolean' } },
  optionHelp: [...INPUT_OPTION_HELP, ['--which', "print the leader's address instead"]],
  epilog: `Examples:\n  ./am-i-the-leader.ts               (on a server)\n  ./am-i-the-leader.ts 192.0.2.11\n  ./am-i-the-leader.ts --lab s1 --which\n  ./am-i-the-leader.ts --lab --which  (asks the servers in turn)\n\nExit codes: 0 leader (or --which: known), 1 follower, 2 cannot tell or bad input.`,
  allowPositionals: true,
} as const;

type Values = { servers?: string | undefined; env?: string | undefined; lab?: boolean | undefined };

async function ask(
  server: string | undefined,
  values: Values,
  which: boolean,
): Promise<LeaderAnswer> {
  const operator = values.lab === true || values.servers !== undefined || values.env !== undefined;
  if (server === undefined && !operator) return askLocal();
  const inputs = loadInputs(inputPaths(values));
  const t = makeTransport(inputs.config);
  if (server === undefined) {
    if (!which) {
      throw new ConfigError('name the server to ask, or use --which to find the leader', [], {
        hint: 'e.g. ./am-i-the-leader.ts --lab s1, or ./am-i-the-leader.ts --lab --which',
      });
    }
    // Ask the servers in turn until one knows the leader.
    let last: LeaderAnswer | undefined;
    for (const s of inputs.servers) {
      try {
        last = await askRemote(t, targetOf(s));
        if (last.leader) return last;
      } catch (e) {
        err(`am-i-the-leader: ${s.spec}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return (
      last ?? {
        verdict: { state: 'unknown', reason: 'no server answered' },
        leader: undefined,
        proxy: false,
      }
    );
  }
  // A servers-file entry (by its text or host; in the lab also sN), else the argument itself.
  const byIndex = values.lab ? /^s(\d+)$/.exec(server) : null;
  const known =
    inputs.servers.find((s) => s.spec === server || s.host === server) ??
    (byIndex ? inputs.servers[Number(byIndex[1]) - 1] : undefined) ??
    parseServers(`${server}\n`, 'the server argument')[0];
  if (!known) throw new ConfigError(`${server}: not a server`);
  return askRemote(t, targetOf(known));
}

function report(a: LeaderAnswer, which: boolean): number {
  const v = a.verdict;
  if (which) {
    if (a.leader) {
      out(a.leader);
      return 0;
    }
    out('unknown');
    if (v.state === 'unknown') err(`am-i-the-leader: ${v.reason}`);
    return 2;
  }
  out(v.state === 'leader' ? 'true' : v.state === 'follower' ? 'false' : 'unknown');
  if (v.state === 'unknown') err(`am-i-the-leader: ${v.reason}`);
  return verdictExitCode(v);
}

main(async () => {
  const { values, positionals } = parseCommand(spec, process.argv.slice(2));
  if (positionals.length > 1) throw new ConfigError('name at most one server');
  const which = values.which === true;
  return report(await ask(positionals[0], values, which), which);
});
