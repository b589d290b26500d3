#!/usr/bin/env -S node --import tsx
/** scripts/destroy.ts: remove Shoestring from servers (leave the clusters, stop services, delete state). */
import {
  EXIT_CODES_HELP,
  INPUT_OPTION_HELP,
  INPUT_OPTIONS,
  parseCommand,
} from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { out, paint } from '../src/cli/output.ts';
import { COMPONENTS } from '../src/components/index.ts';
import { ConfigError, ShoestringError } from '../src/errors.ts';
import { gatherFacts, inputPaths, loadInputs, makeTransport } from '../src/provision/context.ts';

const spec = {
  usage: 'scripts/destroy.ts SERVER... [options]',
  summary:
    'Removes Shoestring from the named servers, in reverse component order: each leaves its cluster\n(etcd, database), stops its services and deletes its configuration and state. Packages stay\ninstalled. Afterwards remove the servers from servers.txt. Without --yes, only says what it would do.',
  options: {
    ...INPUT_OPTIONS,
    yes: { type: 'boolean' },
  },
  optionHelp: [...INPUT_OPTION_HELP, ['--yes', 'really destroy (otherwise a dry run)']],
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
  const components = [...COMPONENTS].reverse().filter((c) => c.teardown);
  if (!values.yes) {
    out(`Would remove ${components.map((c) => c.name).join(', ')} from: ${positionals.join(', ')}`);
    out('Run again with --yes to do it.');
    return 0;
  }
  const transport = makeTransport(inputs.config);
  const gathered = await gatherFacts(transport, inputs.servers, 20);
  const ctxBase = {
    config: inputs.config,
    servers: gathered.servers,
    transport,
    dryRun: false,
    startTogether: new Set<string>(),
  };
  let failed = 0;
  for (const name of positionals) {
    const self = gathered.servers.find((s) => s.server.spec === name || s.server.host === name);
    if (!self) {
      out(`${name}: ${paint('red', '✗')} unreachable; nothing removed`);
      failed++;
      continue;
    }
    for (const c of components) {
      try {
        await c.teardown?.({ ...ctxBase, self });
        out(`${name}: removed ${c.name}`);
      } catch (e) {
        out(
          `${name}: ${paint('red', '✗')} ${c.name}: ${e instanceof ShoestringError ? e.message : String(e)}`,
        );
        failed++;
        break;
      }
    }
  }
  if (failed === 0)
    out(
      `Done. Remove ${positionals.join(', ')} from ${inputs.serversFile}, then run ./provision.ts so the other servers forget it.`,
    );
  return failed === 0 ? 0 : 1;
});
