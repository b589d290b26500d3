#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/node_modules/tsx/dist/loader.mjs" "$0" "$@"
/** ./rename-domain.ts OLD NEW: move the project to another domain, safely. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'dotenv';
import { EXIT_CODES_HELP, parseCommand } from './src/cli/args.ts';
import { main } from './src/cli/main.ts';
import { displayPath, out } from './src/cli/output.ts';
import { isValidDomain } from './src/config/env.ts';
import { ConfigError } from './src/errors.ts';
import { planRename, rewriteFile } from './src/rename/apply.ts';

/** The checkout: its apps/, templates/ and README.md are renamed wherever the command starts. */
const ROOT = dirname(fileURLToPath(import.meta.url));

const spec = {
  usage: './rename-domain.ts OLD NEW [options]',
  summary:
    'Replaces the domain OLD by NEW in .env, the apps (their address files), templates/ and README.md.\nWhole names only (app1.OLD becomes app1.NEW; myOLD is left alone). Skips .git, node_modules,\nthe lab state and binary files.',
  options: { 'dry-run': { type: 'boolean' }, env: { type: 'string' } },
  optionHelp: [
    ['--dry-run', 'list the files and how many replacements each would get; change nothing'],
    ['--env FILE', 'settings file to update (default .env)'],
  ],
  epilog: `Example:\n  ./rename-domain.ts example.com shop.example.org --dry-run\n\n${EXIT_CODES_HELP}`,
  allowPositionals: true,
} as const;

main(async () => {
  const { values, positionals } = parseCommand(spec, process.argv.slice(2));
  if (positionals.length !== 2)
    throw new ConfigError('expected two domains: OLD NEW', [], {
      hint: 'run ./rename-domain.ts --help',
    });
  const [from, to] = positionals.map((d) => d.trim().toLowerCase().replace(/\.$/, '')) as [
    string,
    string,
  ];
  for (const [name, d] of [
    ['OLD', from],
    ['NEW', to],
  ] as const) {
    if (!isValidDomain(d))
      throw new ConfigError(`${name} "${d}" is not a valid domain name (e.g. example.com)`);
  }
  if (from === to) throw new ConfigError(`OLD and NEW are the same domain (${from})`);
  const envFile = values.env ?? '.env';
  const dryRun = values['dry-run'] === true;

  const changes = planRename(ROOT, resolve(envFile), from, to);
  if (changes.length === 0) {
    throw new ConfigError(
      `${from} occurs in none of .env, apps/, templates/, README.md; nothing to do`,
      [],
      {
        hint: 'is OLD the domain currently in use? see DOMAIN in your .env',
      },
    );
  }
  try {
    const current = parse(readFileSync(envFile)).DOMAIN;
    if (current && current.toLowerCase() !== from)
      out(`note: ${envFile} has DOMAIN=${current}, not ${from}`);
  } catch {
    out(`note: ${envFile} not found; only the project files are renamed`);
  }
  const total = changes.reduce((a, c) => a + c.count, 0);
  for (const c of changes) {
    out(`${dryRun ? 'would replace' : 'replaced'} ${c.count} in ${displayPath(c.path)}`);
    if (!dryRun) rewriteFile(c.path, c.text);
  }
  out(
    `${dryRun ? 'Would replace' : 'Replaced'} ${total} occurrence(s) of ${from} in ${changes.length} file(s).`,
  );
  if (!dryRun) {
    out(
      `Next: run ./provision.ts to roll it out. It points *.${to} at your servers and gets a certificate`,
    );
    out(
      `for ${to}; records under ${from} are left as they are (remove them at your DNS provider).`,
    );
  }
  return 0;
});
