#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/loader.mjs" "$0" "$@"
/**
 * npm run demo: the whole job on the lab. Installs what the lab needs, boots 3 servers,
 * provisions them, runs the smoke test, and prints how to look around.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { EXIT_CODES_HELP, numberOption, parseCommand } from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { out } from '../src/cli/output.ts';
import { parseServers } from '../src/config/servers.ts';
import { ShoestringError } from '../src/errors.ts';
import { ACME_ROOT_FILE, paths as labPaths, repoRoot } from '../src/lab/paths.ts';

const spec = {
  usage: 'npm run demo [-- --servers N]',
  summary:
    'Boots the lab (N Debian servers on this machine, default 3), provisions it (with the replicated\ndatabase when N is odd and at least 3), smoke-tests app1 and app2, takes a database backup.\nNeeds root. Remove it afterwards with: npm run lab -- down',
  options: { servers: { type: 'string' } },
  optionHelp: [['--servers N', 'how many lab servers (default 3)']],
  epilog: EXIT_CODES_HELP,
} as const;

function step(title: string, script: string, args: string[]): Promise<void> {
  out(`\n==> ${title}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, script), ...args], {
      cwd: repoRoot,
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new ShoestringError(`${title} failed (exit ${code})`, {
            hint: 'see the output above; npm run lab -- status shows the lab',
          }),
        );
    });
  });
}

main(async () => {
  const { values } = parseCommand(spec, process.argv.slice(2));
  const n = numberOption('servers', values.servers, 3, { min: 1, max: 9, integer: true });
  if (process.getuid?.() !== 0)
    throw new ShoestringError(
      'the lab needs root (it boots containers and makes network namespaces)',
    );
  await step('Install what the lab needs', 'scripts/lab.ts', ['install']);
  await step(`Boot ${n} lab servers`, 'scripts/lab.ts', ['up', String(n)]);
  // The replicated database (MariaDB Galera) needs an odd number of members, at least 3. `lab
  // up` writes .lab/.env afresh, so this choice lasts until the next `lab up`.
  const withDatabase = n >= 3 && n % 2 === 1;
  if (withDatabase)
    appendFileSync(labPaths.env, '# Added by the demo: the replicated database\nDATABASE=galera\n');
  // Provision publishes one A record per server for *.DOMAIN and DOMAIN at the lab's DNS
  // (PowerDNS, through its API), and the agent obtains the wildcard certificate from the lab's
  // ACME CA (pebble): the same path as a real provider and Let's Encrypt.
  await step('Provision them', 'provision.ts', ['--lab']);
  const env = parse(readFileSync(labPaths.env));
  const domain = env['DOMAIN'] ?? 'shoestring.test';
  const dns = env['LAB_DNS'] ?? '';
  const servers = parseServers(readFileSync(labPaths.serversTxt, 'utf8'), labPaths.serversTxt);
  // The root of the lab CA, to check the sites' certificate like a browser would.
  await step("Fetch the lab ACME CA's root", 'scripts/lab.ts', ['acme-root']);
  for (const app of ['app1', 'app2']) {
    await step(`Smoke test https://${app}.${domain}`, 'scripts/watch-curl.ts', [
      `${app}.${domain}`,
      '--dns',
      dns,
      '--https',
      '--cacert',
      ACME_ROOT_FILE,
      '--count',
      '6',
      '--interval',
      '0.5s',
    ]);
  }
  if (withDatabase) await step('Take a database backup', 'scripts/backup.ts', ['now', '--lab']);
  out('\nThe lab is up. Look around:');
  out(`  dig @${dns} +short app1.${domain}                  # one A record per server`);
  for (const s of servers)
    out(
      `  curl -si --cacert ${ACME_ROOT_FILE} --resolve app1.${domain}:443:${s.host} https://app1.${domain}/ | grep -i served-by`,
    );
  out(`  scripts/lab.ts ssh s1                              # a shell on a server`);
  if (withDatabase) {
    const first = servers[0]?.host ?? '';
    out(
      `  curl -s --cacert ${ACME_ROOT_FILE} --resolve app2.${domain}:443:${first} -X POST 'https://app2.${domain}/rows?token=hello'`,
    );
    out(
      `  curl -s --cacert ${ACME_ROOT_FILE} --resolve app2.${domain}:443:${first} https://app2.${domain}/rows/count`,
    );
    out(`  scripts/backup.ts list --lab                       # every member's backups`);
  }
  out(`  scripts/status.ts --lab                            # the cluster at a glance`);
  out(
    `  scripts/lab.ts partition s2                         # cut a server off silently, then watch`,
  );
  out(`  scripts/status.ts --lab                            #   the agent withdraw it from DNS`);
  out(`  scripts/watch-curl.ts app1.${domain} --dns ${dns} --count 30`);
  out('  scripts/lab.ts heal s2                              # and back in DNS within seconds');
  out('  npm run lab -- down                                # remove the lab');
  return 0;
});
