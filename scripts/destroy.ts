#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/loader.mjs" "$0" "$@"
/** scripts/destroy.ts: remove Shoestring from servers (leave the clusters, stop services, delete state). */
import {
  EXIT_CODES_HELP,
  INPUT_OPTION_HELP,
  INPUT_OPTIONS,
  parseCommand,
} from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { out } from '../src/cli/output.ts';
import { makeReporter } from '../src/cli/reporters.ts';
import { COMPONENTS } from '../src/components/index.ts';
import { ConfigError } from '../src/errors.ts';
import { inputPaths, loadInputs, makeTransport } from '../src/provision/context.ts';
import { destroy } from '../src/provision/destroy.ts';

const spec = {
  usage: 'scripts/destroy.ts SERVER... [options]',
  summary:
    'Removes Shoestring from the named servers, in reverse component order: each leaves its cluster\n(etcd, database), stops its services and deletes its configuration and state. Packages stay\ninstalled. Afterwards remove the servers from servers.txt. Without --yes, only shows what it\nwould change (like --dry-run).',
  options: {
    ...INPUT_OPTIONS,
    yes: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    'break-lock': { type: 'boolean' },
  },
  optionHelp: [
    ...INPUT_OPTION_HELP,
    ['--yes', 'really destroy (otherwise a dry run)'],
    ['--dry-run', 'print what would change on each server (files as diffs); change nothing'],
    ['--json', 'one JSON event per line'],
    ['--break-lock', 'take the operator lock even if another run holds it (see provision.ts)'],
  ],
  epilog: `Example:\n  scripts/destroy.ts 192.0.2.13 --yes\n\n${EXIT_CODES_HELP}`,
  allowPositionals: true,
} as const;

main(async () => {
  const { values, positionals } = parseCommand(spec, process.argv.slice(2));
  if (positionals.length === 0)
    throw new ConfigError('name at least one server to destroy', [], {
      hint: 'run scripts/destroy.ts --help',
    });
  const inputs = loadInputs(inputPaths(values));
  const unknown = positionals.filter(
    (p) => !inputs.servers.some((s) => s.spec === p || s.host === p),
  );
  if (unknown.length > 0) {
    throw new ConfigError(`not in ${inputs.serversFile}: ${unknown.join(', ')}`, [], {
      hint: 'name servers as they are written in the servers file',
    });
  }
  const dryRun = values.yes !== true || values['dry-run'] === true;
  const reporter = makeReporter(values.json === true);
  let ok: boolean;
  try {
    ok = await destroy(makeTransport(inputs.config), inputs, positionals, {
      dryRun,
      components: [...COMPONENTS].reverse(),
      reporter,
      breakLock: values['break-lock'] === true,
    });
  } finally {
    reporter.close();
  }
  if (dryRun) out('Nothing was changed. Run again with --yes to do it.');
  else if (ok)
    out(
      `Done. Remove ${positionals.join(', ')} from ${inputs.serversFile}, then run ./provision.ts so the other servers forget it.`,
    );
  return ok ? 0 : 1;
});
