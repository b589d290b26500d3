#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/node_modules/tsx/dist/loader.mjs" "$0" "$@"
/** ./provision.ts: bring every server in servers.txt to the desired state, in rolling groups. */
import {
  EXIT_CODES_HELP,
  INPUT_OPTION_HELP,
  INPUT_OPTIONS,
  numberOption,
  parseCommand,
} from './src/cli/args.ts';
import { main, stopOnInterrupt } from './src/cli/main.ts';
import { makeReporter } from './src/cli/reporters.ts';
import { COMPONENTS, selectComponents } from './src/components/index.ts';
import { parsePercent } from './src/plan/rolling.ts';
import { inputPaths, loadInputs } from './src/provision/context.ts';
import { provision } from './src/provision/run.ts';

const spec = {
  usage: './provision.ts [options]',
  summary:
    'Provisions every server in servers.txt over SSH, idempotently: probes each server, applies only\nthe difference, in rolling groups with a health gate between groups.',
  options: {
    ...INPUT_OPTIONS,
    'dry-run': { type: 'boolean' },
    only: { type: 'string' },
    parallel: { type: 'string' },
    percent: { type: 'string' },
    json: { type: 'boolean' },
    'break-lock': { type: 'boolean' },
    recover: { type: 'boolean' },
  },
  optionHelp: [
    ...INPUT_OPTION_HELP,
    ['--dry-run', 'print what would change on each host (files as diffs); change nothing'],
    [
      '--only LIST',
      `only these components, comma-separated: ${COMPONENTS.map((c) => c.name).join(', ')}`,
    ],
    ['--parallel N', 'hosts worked on at once (default 20)'],
    [
      '--percent P',
      'share of the fleet per rolling group: 0.5 or 50% (default 0.5 once the\n' +
        ' '.repeat(20) +
        'cluster serves; all at once on a first install)',
    ],
    ['--json', 'one JSON event per line'],
    [
      '--recover',
      'database: after every member stopped, bootstrap from the most advanced member\n' +
        ' '.repeat(20) +
        'even when that is not certain (provision says why it asks for this)',
    ],
    [
      '--break-lock',
      'take the operator lock even if another run holds it (only when that run is gone:\n' +
        ' '.repeat(20) +
        'its lock also expires by itself 60 s after its last refresh)',
    ],
  ],
  epilog: `Examples:\n  ./provision.ts --dry-run\n  ./provision.ts --lab --percent 34%\n\n${EXIT_CODES_HELP}`,
} as const;

main(async () => {
  const { values } = parseCommand(spec, process.argv.slice(2));
  const parallel = numberOption('parallel', values.parallel, 20, {
    min: 1,
    max: 200,
    integer: true,
  });
  const percent = values.percent === undefined ? undefined : parsePercent(values.percent);
  const components = selectComponents(values.only);
  const inputs = loadInputs(inputPaths(values));
  const reporter = makeReporter(values.json === true);
  const stop = stopOnInterrupt();
  try {
    const result = await provision(
      inputs,
      {
        dryRun: values['dry-run'] === true,
        parallel,
        percent,
        components,
        stop,
        breakLock: values['break-lock'] === true,
        recover: values.recover === true,
      },
      reporter,
    );
    if (result.interrupted) return 130;
    return result.ok ? 0 : 1;
  } finally {
    reporter.close();
  }
});
