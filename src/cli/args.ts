/** Argument parsing for the commands: node's parseArgs, plus --help and clear errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { clip } from '../config/clip.ts';
import { ConfigError } from '../errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec<O extends Options> {
  /** e.g. `./provision.ts [options]` */
  usage: string;
  summary: string;
  options: O;
  /** One line per option, in the order shown by --help. */
  optionHelp: readonly (readonly [string, string])[];
  /** Extra help text (examples, exit codes). */
  epilog?: string;
  allowPositionals?: boolean;
}

export const EXIT_CODES_HELP =
  'Exit codes: 0 ok, 1 a host or operation failed, 2 bad input, 130 stopped by Ctrl-C.';

export function helpText<O extends Options>(spec: CommandSpec<O>): string {
  const width = Math.max(...spec.optionHelp.map(([f]) => f.length), 10);
  const lines = [
    `Usage: ${spec.usage}`,
    '',
    spec.summary,
    '',
    'Options:',
    ...spec.optionHelp.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
    `  ${'-h, --help'.padEnd(width)}  show this help`,
  ];
  if (spec.epilog) lines.push('', spec.epilog);
  return lines.join('\n');
}

/** Parses argv; prints help and exits 0 on --help; throws ConfigError on unknown flags. */
export function parseCommand<O extends Options>(spec: CommandSpec<O>, argv: string[]) {
  const options = { ...spec.options, help: { type: 'boolean', short: 'h' } } as O & {
    help: { type: 'boolean'; short: 'h' };
  };
  try {
    const parsed = parseArgs({
      args: argv,
      options,
      allowPositionals: spec.allowPositionals ?? false,
      strict: true,
    });
    if ((parsed.values as Record<string, unknown>)['help'] === true) {
      process.stdout.write(helpText(spec) + '\n');
      process.exit(0);
    }
    return parsed;
  } catch (e) {
    if (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      const help = `run ${spec.usage.split(' ')[0]} --help`;
      // `--percent -1`: node takes -1 for an option and says so in three lines.
      const flag = /^Option '(--[\w-]+)' argument is ambiguous/.exec(e.message)?.[1];
      const value = flag === undefined ? undefined : argv[argv.indexOf(flag) + 1];
      if (flag !== undefined && value !== undefined) {
        throw new ConfigError(
          `${flag} ${clip(value)}: a value starting with - is read as an option`,
          [],
          {
            hint: `write ${flag}=${clip(value)} to give it as the value; ${help}`,
          },
        );
      }
      throw new ConfigError(`${e.message.split('\n')[0]?.split('. ')[0]}`, [], { hint: help });
    }
    throw e;
  }
}

/** Parses a number option, naming the flag when it is not one. */
export function numberOption(
  name: string,
  value: string | undefined,
  fallback: number,
  range: { min: number; max: number; integer?: boolean },
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (
    !Number.isFinite(n) ||
    n < range.min ||
    n > range.max ||
    (range.integer && !Number.isInteger(n))
  ) {
    throw new ConfigError(
      `--${name} ${value}: expected ${range.integer ? 'a whole number' : 'a number'} from ${range.min} to ${range.max}`,
    );
  }
  return n;
}

/** The options every command that reads the cluster's files shares. */
export const INPUT_OPTIONS = {
  servers: { type: 'string' },
  env: { type: 'string' },
  lab: { type: 'boolean' },
} as const;

export const INPUT_OPTION_HELP: readonly (readonly [string, string])[] = [
  ['--servers FILE', 'servers file (default servers.txt)'],
  ['--env FILE', 'settings file (default .env)'],
  ['--lab', "use the lab: the checkout's .lab/servers.txt and .lab/.env"],
];
