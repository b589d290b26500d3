#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/loader.mjs" "$0" "$@"
/** The lab: real Debian servers, DNS and ACME on this machine, with failures on demand. */
import { writeFileSync } from 'node:fs';
import { EXIT_CODES_HELP, numberOption, parseCommand } from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { out } from '../src/cli/output.ts';
import { ConfigError } from '../src/errors.ts';
import { installHostPackages } from '../src/lab/install.ts';
import {
  down,
  power,
  remove,
  status,
  up,
  type LabOptions,
  type PowerAction,
} from '../src/lab/lab.ts';
import { formatStatus } from '../src/lab/format.ts';
import { sshInteractive } from '../src/lab/ssh.ts';
import { findServer, requireState } from '../src/lab/state.ts';
import { ACME_ROOT_FILE } from '../src/lab/paths.ts';
import { pebbleRoot } from '../src/lab/pebble.ts';
import { hostAddress, parseSubnet } from '../src/lab/subnet.ts';

const spec = {
  usage: 'scripts/lab.ts <command> [options]',
  summary: [
    'Commands:',
    '  install                 install the host packages the lab needs (daemons not started)',
    '  up [N]                  boot N servers (default 3) with DNS, ACME and an apt proxy; repairs a running lab',
    '  down                    remove everything up made (the empty bridge stays)',
    '  remove <server>         delete one server (disk, network, DNS record); up N makes it anew',
    '  status [--json]         servers: name, address, state, uptime',
    '  ssh <server> [cmd...]   ssh into a server (name like s1, or its address)',
    '  kill|stop|start|reboot <server>   hard crash, clean poweroff, boot, reboot',
    '  partition|heal <server>           cut a server off the lab network, reconnect it',
    "  acme-root               write the lab ACME CA's root (it signs the sites' certificate) to .lab/acme-root.pem",
  ].join('\n'),
  options: {
    subnet: { type: 'string' },
    domain: { type: 'string' },
    json: { type: 'boolean' },
  },
  optionHelp: [
    ['--subnet CIDR', 'lab subnet, remembered in .lab/state.json (default 172.30.0.0/24)'],
    ['--domain NAME', 'lab DNS zone, remembered in .lab/state.json (default shoestring.test)'],
    ['--json', 'status as JSON'],
  ],
  epilog: EXIT_CODES_HELP,
  allowPositionals: true,
} as const;

const POWER: readonly PowerAction[] = ['kill', 'stop', 'start', 'reboot', 'partition', 'heal'];
const log = (line: string): void => out(line);

main(async () => {
  const argv = process.argv.slice(2);
  // `ssh <server> cmd -with -flags`: everything after the server goes to the server untouched.
  if (argv[0] === 'ssh') {
    const which = argv[1];
    if (which === undefined)
      throw new ConfigError('usage: scripts/lab.ts ssh <server> [command...]');
    const s = findServer(requireState(), which);
    return sshInteractive(s.address, argv.slice(2));
  }
  const { values, positionals } = parseCommand(spec, argv);
  const [command, ...rest] = positionals;
  const opts: LabOptions = {
    ...(values.subnet !== undefined ? { subnet: values.subnet } : {}),
    ...(values.domain !== undefined ? { domain: values.domain } : {}),
  };
  switch (command) {
    case 'install': {
      const installed = await installHostPackages(log);
      log(
        installed.length > 0 ? `installed: ${installed.join(' ')}` : 'host packages: all present',
      );
      return 0;
    }
    case 'up': {
      const n = numberOption('N', rest[0], 3, { min: 1, max: 200, integer: true });
      const started = Date.now();
      const state = await up(n, opts, log);
      log(
        `lab up: ${state.servers.length} servers (${state.servers.map((s) => `${s.name} ${s.address}`).join(', ')}), ` +
          `domain ${state.domain}, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      log('files: .lab/servers.txt .lab/.env .lab/id_ed25519');
      return 0;
    }
    case 'down':
      await down(log);
      return 0;
    case 'remove': {
      const which = rest[0];
      if (which === undefined) throw new ConfigError('usage: scripts/lab.ts remove <server>');
      await remove(which, log);
      return 0;
    }
    case 'acme-root': {
      const state = requireState();
      const root = await pebbleRoot(hostAddress(parseSubnet(state.subnet)));
      writeFileSync(ACME_ROOT_FILE, root);
      log(ACME_ROOT_FILE);
      return 0;
    }
    case 'status': {
      const st = status();
      log(values.json ? JSON.stringify(st, null, 2) : formatStatus(st));
      return 0;
    }
    default: {
      if (command !== undefined && (POWER as readonly string[]).includes(command)) {
        const which = rest[0];
        if (which === undefined) throw new ConfigError(`usage: scripts/lab.ts ${command} <server>`);
        await power(command as PowerAction, which, log);
        return 0;
      }
      throw new ConfigError(
        command === undefined ? 'no command given' : `unknown command ${command}`,
        [],
        {
          hint: 'run scripts/lab.ts --help',
        },
      );
    }
  }
});
