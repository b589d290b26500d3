/**
 * Hostile input, end to end and without servers. Each case runs ./provision.ts as a subprocess
 * (from the checkout, `--servers` and `--env` in a fresh temporary folder) and checks:
 *  - the exit code (2: bad input) and the whole error text: the file and line, or the key, and
 *    what to do;
 *  - that nothing changed: the input files byte for byte, and no file made beside them (no
 *    .shoestring/known_hosts, no lock);
 *  - that no SSH was tried: `ssh` on the command's PATH is a stand-in that logs each call, and
 *    every well-formed server is a 127.0.0.1 port where a listener counts connections;
 *  - that a secret given in .env is nowhere in the output.
 * A control case (valid input) shows each of these detectors firing.
 *
 * The DNS provider is first asked after preflight has reached the servers (src/provision/run.ts),
 * so its errors (401, 429, 500, no answer) are tested on ProvisionDns.start, the call provision
 * makes, against a local fake of the PowerDNS API.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clip } from '../../src/config/clip.ts';
import { parseEnv } from '../../src/config/env.ts';
import { PowerDnsProvider } from '../../src/dns/powerdns.ts';
import { ShoestringError } from '../../src/errors.ts';
import { ProvisionDns } from '../../src/provision/dns.ts';
import { fakeServer, json, type FakeServer, type Handler } from './fixtures/fake-http.ts';

const root = join(import.meta.dirname, '../..');
const SECRET = 'pdns-key-7Hq2Zr9Lw4Xc';
const ENV = 'DOMAIN=example.com\n';
const SERVERS_HINT =
  '  hint: one server a line: an IPv4/IPv6 address or host name, optionally user@host:port; # starts a comment';
const ENV_HINT = '  hint: see .env.example for every key and what it is for';
const HELP_HINT = '  hint: run ./provision.ts --help';

/** What a case sees: its folder, and well-formed servers (127.0.0.1 ports that count connections). */
interface Ctx {
  readonly dir: string;
  readonly ports: readonly number[];
  /** `127.0.0.1:PORT` of listener i. */
  s(i: number): string;
  /** A file in the case's folder. */
  f(name: string): string;
}

interface Case {
  readonly name: string;
  /** Files written into the case's folder (servers.txt and .env unless said otherwise). */
  readonly files: (c: Ctx) => Record<string, string>;
  /** Extra arguments after --servers and --env. */
  readonly args?: (c: Ctx) => string[];
  /** Files added to a copy of the checkout's apps/ (in the case's folder), used instead of it. */
  readonly apps?: Record<string, string>;
  readonly code: number;
  /** The whole of stderr. */
  readonly stderr: (c: Ctx) => string;
  /** The whole of stdout (default empty). */
  readonly stdout?: (c: Ctx) => string;
  /** A secret written in .env that must not be printed. */
  readonly secret?: string;
}

const servers3 = (c: Ctx) => `${c.s(0)}\n${c.s(1)}\n${c.s(2)}\n`;
const files =
  (servers: (c: Ctx) => string, env = ENV) =>
  (c: Ctx) => ({
    'servers.txt': servers(c),
    '.env': env,
  });
const lines = (...l: string[]) => `${l.join('\n')}\n`;
const DNS_NONE_WARNING =
  'settings: warning: DNS_PROVIDER=none: publish one *.example.com and one example.com A record per server yourself; no health failover, no certificate (sites on HTTP)';
const percentProblem = (value: string) =>
  lines(
    `✗ --percent ${value}: expected a share of the fleet above 0: a fraction up to 1 (0.5) or a percentage up to 100 (50 or 50%)`,
  );

const CASES: Case[] = [
  {
    name: 'servers.txt: a garbage line',
    files: files((c) => `${c.s(0)}\n!!!\n${c.s(1)}\n`),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('servers.txt')} has 1 problem(s):`,
        `  - ${c.f('servers.txt')}:2: "!!!" is not a valid host name or address`,
        SERVERS_HINT,
      ),
  },
  {
    name: 'servers.txt: bad ports (0, 65536, not a number, empty)',
    files: files(
      (c) => `${c.s(0)}\n127.0.0.1:0\n127.0.0.1:65536\n# a comment\n127.0.0.1:22x\n127.0.0.1:\n`,
    ),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('servers.txt')} has 4 problem(s):`,
        ...[
          [2, '0'],
          [3, '65536'],
          [5, '22x'],
          [6, ''],
        ].map(
          ([l, p]) =>
            `  - ${c.f('servers.txt')}:${l}: invalid port "${p}": a port is a whole number from 1 to 65535 (or leave it out for 22)`,
        ),
        SERVERS_HINT,
      ),
  },
  {
    // A duplicate is the same host and port: another user does not make another server, another
    // port does (line 6 is not a duplicate); host names compare without case and final dot.
    name: 'servers.txt: duplicates, also spelled with another user or an explicit default port',
    files: files(
      (c) =>
        `${c.s(0)}\n${c.s(0)}\nroot@${c.s(0)}\nweb1.example.com\ndeploy@WEB1.example.com.:22\n${c.s(1)}\n`,
    ),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('servers.txt')} has 3 problem(s):`,
        `  - ${c.f('servers.txt')}:2: "${c.s(0)}" duplicates line 1 (the same host and port): remove one of them`,
        `  - ${c.f('servers.txt')}:3: "root@${c.s(0)}" duplicates line 1 (the same host and port): remove one of them`,
        `  - ${c.f('servers.txt')}:5: "deploy@WEB1.example.com.:22" duplicates line 4 (the same host and port): remove one of them`,
        SERVERS_HINT,
      ),
  },
  {
    name: 'servers.txt: only comments and blank lines',
    files: files(() => '# web servers\n\n   # none yet\n\n'),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('servers.txt')} lists no server`,
        `  hint: add one server address a line to ${c.f('servers.txt')} (see the comments in it)`,
      ),
  },
  {
    name: 'servers.txt: missing',
    files: () => ({ '.env': ENV }),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('servers.txt')} not found`,
        '  hint: list your servers in servers.txt, one a line',
      ),
  },
  {
    name: 'servers.txt: a folder instead of a file',
    files: () => ({ '.env': ENV, 'servers.txt/README': 'not a list\n' }),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('servers.txt')} is a directory, not a file`,
        '  hint: point --servers at your servers file',
      ),
  },
  {
    name: 'servers.txt: bad private address fields',
    files: files((c) => `${c.s(0)} 10.0.0.300\n${c.s(1)} fe80::1\n${c.s(2)} db.internal\n`),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('servers.txt')} has 3 problem(s):`,
        ...['10.0.0.300', 'fe80::1', 'db.internal'].map(
          (a, i) =>
            `  - ${c.f('servers.txt')}:${i + 1}: "${a}" after the server is not an IPv4 private address: write the server's IPv4 address on your private network there, or nothing`,
        ),
        SERVERS_HINT,
      ),
  },
  {
    name: 'servers.txt: a private address for some servers only',
    files: files((c) => `${c.s(0)} 10.0.0.1\n${c.s(1)}\n${c.s(2)} 10.0.0.3\n`),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('servers.txt')} has 1 problem(s):`,
        `  - ${c.f('servers.txt')}: line 2 gives no private address while others do: give one for every server (a private network you already have) or for none (WireGuard makes one)`,
        SERVERS_HINT,
      ),
  },
  {
    name: '.env: missing',
    files: (c) => ({ 'servers.txt': servers3(c) }),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} not found`,
        '  hint: copy .env.example to .env and fill it in, or point --env at your file',
      ),
  },
  {
    name: '.env: a folder instead of a file',
    files: (c) => ({ 'servers.txt': servers3(c), '.env/x': '' }),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} is a directory, not a file`,
        '  hint: point --env at your settings file',
      ),
  },
  {
    // dotenv skips such lines without a word; the key would then be "missing". The line is not
    // quoted back: it holds the secret, which was never read as a value.
    name: '.env: lines without "=" (one of them holding the API key)',
    files: files(
      servers3,
      lines(
        'DOMAIN=example.com',
        'DNS_PROVIDER=powerdns',
        'PDNS_API_URL=http://127.0.0.1:9',
        `PDNS_API_KEY ${SECRET}`,
        'ACME_EMAIL=ops@example.com',
        `${SECRET}`,
        '# a comment',
        'LAB_DNS="10.0.0.1',
        'still the quoted value"',
      ),
    ),
    secret: SECRET,
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} has 4 problem(s):`,
        `  - ${c.f('.env')}:4: PDNS_API_KEY has no "=": write it as PDNS_API_KEY=value`,
        `  - ${c.f('.env')}:6: not a KEY=value line (the line is not shown: it may hold a secret): write it as KEY=value, or start it with # to make it a comment`,
        '  - PDNS_API_KEY is missing: PowerDNS API key (X-API-Key)',
        '  - LAB_DNS=10.0.0.1\\nstill the quoted value is not an IP address',
        ENV_HINT,
      ),
  },
  {
    name: '.env: a key set twice (the API key, with two values)',
    files: files(
      servers3,
      lines(
        'DOMAIN=example.com',
        'DNS_PROVIDER=powerdns',
        'PDNS_API_URL=http://127.0.0.1:9',
        `PDNS_API_KEY=${SECRET}`,
        'ACME_EMAIL=ops@example.com',
        `export PDNS_API_KEY=${SECRET}-new`,
      ),
    ),
    secret: SECRET,
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} has 1 problem(s):`,
        `  - ${c.f('.env')}: PDNS_API_KEY is set twice, on lines 4 and 6: keep one`,
        ENV_HINT,
      ),
  },
  ...['exa mple.com', '-bad.com'].map((domain): Case => ({
    name: `.env: DOMAIN=${domain}`,
    files: files(servers3, `DOMAIN=${domain}\n`),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} has 1 problem(s):`,
        `  - DOMAIN=${domain} is not a valid domain name: write the domain the cluster serves, e.g. example.com (labels of letters, digits and -, not starting or ending with -, joined by dots)`,
        ENV_HINT,
      ),
  })),
  {
    name: '.env: DOMAIN=192.0.2.10 (an address)',
    files: files(servers3, 'DOMAIN=192.0.2.10\n'),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} has 1 problem(s):`,
        "  - DOMAIN=192.0.2.10 is an IP address, not a domain name: write the domain the cluster serves (e.g. example.com); the servers' addresses go in servers.txt",
        ENV_HINT,
      ),
  },
  {
    name: '.env: an unknown DNS_PROVIDER',
    files: files(servers3, 'DOMAIN=example.com\nDNS_PROVIDER=route53\n'),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} has 1 problem(s):`,
        '  - DNS_PROVIDER=route53 is not one of none, powerdns, cloudns, cloudflare: who serves DNS for DOMAIN: none, powerdns, cloudns or cloudflare',
        ENV_HINT,
      ),
  },
  {
    name: '.env: DNS_PROVIDER=powerdns without PDNS_API_KEY',
    files: files(
      servers3,
      lines(
        'DOMAIN=example.com',
        'DNS_PROVIDER=powerdns',
        'PDNS_API_URL=http://127.0.0.1:9',
        'ACME_EMAIL=ops@example.com',
      ),
    ),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} has 1 problem(s):`,
        '  - PDNS_API_KEY is missing: PowerDNS API key (X-API-Key)',
        ENV_HINT,
      ),
  },
  {
    name: '.env: DNS_PROVIDER=cloudns with its password but no user id',
    files: files(
      servers3,
      lines(
        'DOMAIN=example.com',
        'DNS_PROVIDER=cloudns',
        `CLOUDNS_AUTH_PASSWORD=${SECRET}`,
        'ACME_EMAIL=ops@example.com',
      ),
    ),
    secret: SECRET,
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} has 1 problem(s):`,
        '  - CLOUDNS_AUTH_ID or CLOUDNS_SUB_AUTH_ID is missing: ClouDNS API user id (or CLOUDNS_SUB_AUTH_ID)',
        ENV_HINT,
      ),
  },
  {
    name: '.env: bad numbers (DNS_TTL, DNS_DRAIN_SECONDS, BACKUP_KEEP, LOCK_TTL, WIREGUARD_PORT)',
    files: files(
      servers3,
      lines(
        'DOMAIN=example.com',
        'DNS_TTL=abc',
        'DNS_DRAIN_SECONDS=-1',
        'BACKUP_KEEP=0',
        'LOCK_TTL=5',
        'WIREGUARD_PORT=70000',
      ),
    ),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} has 5 problem(s):`,
        '  - DNS_TTL=abc must be a whole number of seconds from 30 to 86400',
        '  - DNS_DRAIN_SECONDS=-1 must be a whole number of seconds from 0 to 86400',
        '  - BACKUP_KEEP=0 must be a whole number from 1 to 1000',
        '  - LOCK_TTL=5 must be a whole number of seconds from 10 to 3600',
        '  - WIREGUARD_PORT=70000 must be a UDP port (1-65535)',
        ENV_HINT,
      ),
  },
  {
    name: '.env: SSH_KEY names no file',
    files: files(servers3, 'DOMAIN=example.com\nSSH_KEY=keys/id_ed25519\n'),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('.env')} has 1 problem(s):`,
        `  - SSH_KEY=keys/id_ed25519: ${clip(c.f('keys/id_ed25519'))} not found (private key file to log in with (default: ssh-agent and ~/.ssh/config))`,
        ENV_HINT,
      ),
  },
  {
    name: '--percent 0',
    files: files(servers3),
    args: () => ['--percent', '0'],
    code: 2,
    stderr: () => percentProblem('0'),
  },
  {
    name: '--percent -1 (taken for an option)',
    files: files(servers3),
    args: () => ['--percent', '-1'],
    code: 2,
    stderr: () =>
      lines(
        '✗ --percent -1: a value starting with - is read as an option',
        '  hint: write --percent=-1 to give it as the value; run ./provision.ts --help',
      ),
  },
  {
    name: '--percent=-1',
    files: files(servers3),
    args: () => ['--percent=-1'],
    code: 2,
    stderr: () => percentProblem('-1'),
  },
  {
    name: '--percent 150 (above 100 %)',
    files: files(servers3),
    args: () => ['--percent', '150'],
    code: 2,
    stderr: () => percentProblem('150'),
  },
  {
    name: '--percent abc',
    files: files(servers3),
    args: () => ['--percent', 'abc'],
    code: 2,
    stderr: () => percentProblem('abc'),
  },
  {
    name: '--percent without a value',
    files: files(servers3),
    args: () => ['--percent'],
    code: 2,
    stderr: () => lines("✗ Option '--percent <value>' argument missing", HELP_HINT),
  },
  {
    name: 'an unknown option',
    files: files(servers3),
    args: () => ['--dryrun'],
    code: 2,
    stderr: () => lines("✗ Unknown option '--dryrun'", HELP_HINT),
  },
  {
    name: 'db-servers.txt naming servers that are not in servers.txt',
    files: (c) => ({
      'servers.txt': servers3(c),
      '.env': 'DOMAIN=example.com\nDATABASE=galera\n',
      'db-servers.txt': `${c.s(0)}\n127.0.0.1:1\ndb9.example.com\n`,
    }),
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('db-servers.txt')} has 2 problem(s):`,
        `  - ${c.f('db-servers.txt')}:2: "127.0.0.1:1" is not in servers.txt: add it there first, or remove this line`,
        `  - ${c.f('db-servers.txt')}:3: "db9.example.com" is not in servers.txt: add it there first, or remove this line`,
        '  hint: one server a line, each one of servers.txt (remove the file to make every server a database member)',
      ),
  },
  {
    name: 'DATABASE=galera with 4 servers in db-servers.txt',
    files: (c) => ({
      'servers.txt': `${servers3(c)}${c.s(3)}\n`,
      '.env': 'DOMAIN=example.com\nDATABASE=galera\n',
      'db-servers.txt': `${servers3(c)}${c.s(3)}\n`,
    }),
    code: 2,
    stdout: () => lines(DNS_NONE_WARNING),
    stderr: (c) =>
      lines(
        `✗ DATABASE=galera needs an odd number of database servers, at least 3 (or 2 plus a third server for the arbitrator); ${c.f('db-servers.txt')} gives 4: ${[0, 1, 2, 3].map((i) => c.s(i)).join(', ')}`,
        `  hint: add or remove one server in ${c.f('db-servers.txt')} (an even group that splits in half stops on both sides)`,
      ),
  },
  {
    name: 'DATABASE=galera with 4 servers and no db-servers.txt (every server a member)',
    files: (c) => ({
      'servers.txt': `${servers3(c)}${c.s(3)}\n`,
      '.env': 'DOMAIN=example.com\nDATABASE=galera\n',
    }),
    code: 2,
    stdout: () => lines(DNS_NONE_WARNING),
    stderr: (c) =>
      lines(
        `✗ DATABASE=galera needs an odd number of database servers, at least 3 (or 2 plus a third server for the arbitrator); ${c.f('servers.txt')} lists 4 and every server is one (there is no db-servers.txt beside it): ${[0, 1, 2, 3].map((i) => c.s(i)).join(', ')}`,
        `  hint: add or remove one server in ${c.f('servers.txt')}, or list an odd number of them in db-servers.txt beside it (an even group that splits in half stops on both sides)`,
      ),
  },
  {
    // The lab's version (test/lab/07-engine.test.ts) also looks on the servers; here: refused
    // before ssh is even started. The names would break out of quotes in a remote script.
    name: 'an app file or folder name that would inject shell',
    files: files(servers3),
    apps: {
      "app1/x'$(touch pwned)'": 'x\n',
      'app1/app.wsgi;reboot': 'x\n',
      'app2/static/`id`/a.css': 'x\n',
    },
    code: 2,
    stderr: (c) =>
      lines(
        `✗ ${c.f('apps')}/ has 3 problem(s):`,
        ...[
          ['app1/app.wsgi;reboot', 'app.wsgi;reboot'],
          ["app1/x'$(touch pwned)'", "x'$(touch pwned)'"],
          ['app2/static/`id`/a.css', '`id`'],
        ].map(
          ([path = '', name = '']) =>
            `  - ${clip(c.f(`apps/${path}`))}: the name "${name}" may use only letters, digits, '.', '_' and '-' (not first): rename it`,
        ),
        '  hint: one folder per app: a host file with its name under DOMAIN, app.wsgi or app.py (see README, Configuration)',
      ),
  },
];

/**
 * The control: valid input, and --percent 1.5 (read as 1.5 %: above 1 is a percentage). It gets
 * as far as SSH, which the stand-in refuses, and leaves .shoestring/ beside .env: the three
 * detectors that every bad-input case expects silent do fire.
 */
const CONTROL: Case = {
  name: 'control: valid input with --percent 1.5 reaches SSH (the detectors fire)',
  files: files((c) => `${c.s(0)}\n`),
  args: () => ['--percent', '1.5'],
  code: 1,
  stderr: () =>
    lines(
      '✗ preflight found 1 problem(s); nothing was changed',
      '  hint: fix the problems listed above and run again (a server you no longer use: remove it from the servers file)',
    ),
};

/** A stand-in for ssh: logs its arguments; for 127.0.0.1 it opens (and closes) a TCP connection
 * to the port, as ssh would; then it fails as a refused login does. */
const FAKE_SSH = `#!/bin/bash
printf '%s\\n' "$*" >> "$HOSTILE_SSH_LOG"
port=22
host=
while [ $# -gt 0 ]; do
  case $1 in
    -p) port=$2; shift 2 ;;
    -o|-i|-l|-F|-J) shift 2 ;;
    -*) shift ;;
    *) host=$1; break ;;
  esac
done
if [ "$host" = 127.0.0.1 ]; then
  { exec 3<>"/dev/tcp/127.0.0.1/$port" && exec 3>&-; } 2>/dev/null
fi
echo "$host: Permission denied (publickey)." >&2
exit 255
`;

interface Listener {
  readonly port: number;
  connections: number;
  close(): Promise<void>;
}

async function listen(): Promise<Listener> {
  const server = createServer((socket) => {
    result.connections++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const result: Listener = {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    connections: 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return result;
}

/** Every file and folder below `dir` (relative paths), with the bytes of each file. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (statSync(join(dir, path)).isDirectory()) {
        out.set(`${path}/`, '');
        walk(path);
      } else out.set(path, readFileSync(join(dir, path)).toString('base64'));
    }
  };
  walk('');
  return out;
}

interface Outcome {
  readonly ctx: Ctx;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly before: Map<string, string>;
  readonly after: Map<string, string>;
  readonly sshCalls: string[];
  readonly connections: number;
}

let base = '';
let fakeBin = '';
const outcomes = new Map<Case, Promise<Outcome>>();
const listeners: Listener[] = [];

async function runCase(c: Case, index: number): Promise<Outcome> {
  const dir = mkdtempSync(join(base, 'case-'));
  const own = await Promise.all([listen(), listen(), listen(), listen()]);
  listeners.push(...own);
  const ports = own.map((l) => l.port);
  const ctx: Ctx = {
    dir,
    ports,
    s: (i) => `127.0.0.1:${ports[i] ?? 0}`,
    f: (name) => join(dir, name),
  };
  for (const [name, text] of Object.entries(c.files(ctx))) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${fakeBin}:${process.env['PATH'] ?? ''}`,
    HOSTILE_SSH_LOG: join(base, `ssh-${index}.log`),
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
  delete env['DEBUG'];
  delete env['SHOESTRING_APPS_DIR'];
  if (c.apps) {
    cpSync(join(root, 'apps'), join(dir, 'apps'), { recursive: true });
    for (const [name, text] of Object.entries(c.apps)) {
      mkdirSync(join(dir, 'apps', name, '..'), { recursive: true });
      writeFileSync(join(dir, 'apps', name), text);
    }
    env['SHOESTRING_APPS_DIR'] = join(dir, 'apps');
  }
  const before = snapshot(dir);
  const args = [
    '--servers',
    ctx.f('servers.txt'),
    '--env',
    ctx.f('.env'),
    ...(c.args?.(ctx) ?? []),
  ];
  const { code, stdout, stderr } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'provision.ts', ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  // A connection the stand-in opened just before it exited is counted by now.
  await new Promise((r) => setTimeout(r, 50));
  const log = join(base, `ssh-${index}.log`);
  return {
    ctx,
    code,
    stdout,
    stderr,
    before,
    after: snapshot(dir),
    sshCalls: existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [],
    connections: own.reduce((n, l) => n + l.connections, 0),
  };
}

test.before(() => {
  base = mkdtempSync(join(tmpdir(), 'shoestring-hostile-'));
  fakeBin = join(base, 'bin');
  mkdirSync(fakeBin);
  writeFileSync(join(fakeBin, 'ssh'), FAKE_SSH);
  chmodSync(join(fakeBin, 'ssh'), 0o755);
  // Every run starts now, a few at a time (each is a node process); the tests await their own.
  const all = [CONTROL, ...CASES];
  let next = 0;
  const slots = Math.max(2, availableParallelism());
  const waiting = new Map<Case, (o: Promise<Outcome>) => void>();
  for (const c of all) outcomes.set(c, new Promise((r) => waiting.set(c, r)));
  const worker = async (): Promise<void> => {
    while (next < all.length) {
      const i = next++;
      const c = all[i] as Case;
      const run = runCase(c, i);
      waiting.get(c)?.(run);
      await run.catch(() => undefined);
    }
  };
  for (let i = 0; i < slots; i++) void worker();
});

test.after(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  if (base !== '') rmSync(base, { recursive: true, force: true });
});

function outcome(c: Case): Promise<Outcome> {
  const o = outcomes.get(c);
  if (!o) throw new Error(`${c.name}: not started`);
  return o;
}

for (const c of CASES) {
  test(c.name, async () => {
    const o = await outcome(c);
    const all = `${o.stdout}${o.stderr}`;
    assert.is(o.stderr, c.stderr(o.ctx), all);
    assert.is(o.stdout, c.stdout?.(o.ctx) ?? '', all);
    assert.is(o.code, c.code, all);
    assert.equal(
      [...o.after],
      [...o.before],
      'the folder is as it was: inputs unchanged, nothing new',
    );
    assert.equal(o.sshCalls, [], 'ssh was not started');
    assert.is(o.connections, 0, 'no connection reached a server');
    if (c.secret) assert.not.ok(all.includes(c.secret), 'the secret was printed');
  });
}

test(CONTROL.name, async () => {
  const o = await outcome(CONTROL);
  const all = `${o.stdout}${o.stderr}`;
  assert.is(o.stderr, CONTROL.stderr(o.ctx), all);
  assert.ok(o.stdout.includes('\n==> Preflight (1 host)\n'), all);
  assert.ok(
    o.stdout.includes(
      `\npreflight: ✗ ${o.ctx.s(0)}: authentication refused (127.0.0.1: Permission denied (publickey).): check SSH_USER / SSH_KEY in .env, your ssh-agent, or ~/.ssh/config\n`,
    ),
    all,
  );
  assert.is(o.code, 1, all);
  assert.equal(
    [...o.after.keys()].filter((k) => !o.before.has(k)),
    ['.shoestring/'],
    'the known_hosts folder is made before connecting',
  );
  assert.is(o.sshCalls.length, 1, all);
  assert.match(o.sshCalls[0] ?? '', `-p ${o.ctx.ports[0]} 127.0.0.1 bash -s`);
  assert.is(o.connections, 1, 'the listener saw the connection');
});

// The DNS provider, as provision first asks it (ProvisionDns.start: the records of *.DOMAIN and
// DOMAIN, before anything changes), against a fake PowerDNS API.

const ZONE_PATH = '/api/v1/servers/localhost/zones/example.com.';

function pdnsConfig(api: FakeServer) {
  return parseEnv(
    lines(
      'DOMAIN=example.com',
      'DNS_PROVIDER=powerdns',
      `PDNS_API_URL=${api.url}`,
      `PDNS_API_KEY=${SECRET}`,
      'ACME_EMAIL=ops@example.com',
    ),
    '.env',
  );
}

/** ProvisionDns.start's error; `fast` gives the provider short timeouts and retry waits. */
async function startError(
  api: FakeServer,
  fast: boolean,
): Promise<{ message: string; hint: string | undefined }> {
  const config = pdnsConfig(api);
  const dns = config.dns;
  assert.ok(dns.provider === 'powerdns');
  const provider = fast
    ? new PowerDnsProvider({
        apiUrl: dns.apiUrl,
        apiKey: dns.apiKey,
        zone: dns.zone,
        timeoutMs: 200,
        retryDelaysMs: [5, 5, 5],
        maxRetryAfterMs: 20,
      })
    : undefined;
  try {
    await ProvisionDns.start({
      config,
      servers: [],
      query: () => Promise.reject(new Error('no server is asked')),
      reporter: { event: () => undefined, close: () => undefined },
      dryRun: false,
      ...(provider ? { provider } : {}),
    });
  } catch (e) {
    assert.instance(e, ShoestringError);
    const { message, hint } = e as ShoestringError;
    assert.not.ok(`${message} ${hint ?? ''}`.includes(SECRET), 'no secret in the error');
    // Nothing was changed: reads only, the key only in its header.
    for (const s of api.seen) {
      assert.is(s.method, 'GET');
      assert.is(s.path, ZONE_PATH);
      assert.is(s.headers['x-api-key'], SECRET);
      assert.not.ok(s.url.includes(SECRET));
    }
    return { message, hint };
  }
  assert.unreachable('expected an error');
  return { message: '', hint: undefined };
}

async function withPowerDns(
  reply: Handler,
  body: (api: FakeServer) => Promise<void>,
): Promise<void> {
  const api = await fakeServer(reply);
  try {
    await body(api);
  } finally {
    await api.close();
  }
}

test('DNS: PowerDNS refuses the key (401): one request, the key named, never shown', () =>
  withPowerDns(
    (req, res) =>
      json(res, 401, { error: `Unauthorized: bad key ${String(req.headers['x-api-key'])}` }),
    async (api) => {
      // The provider provision makes from .env (default timeouts; a 401 is not retried).
      const e = await startError(api, false);
      assert.is(
        e.message,
        `PowerDNS rejected PDNS_API_KEY (GET ${ZONE_PATH} → HTTP 401: Unauthorized: bad key [REDACTED])`,
      );
      assert.is(
        e.hint,
        'check PDNS_API_KEY in .env: it must be the api-key of the PowerDNS server at PDNS_API_URL',
      );
      assert.is(api.seen.length, 1);
    },
  ));

test('DNS: PowerDNS rate limits (429): retried with waits, then a message to wait and retry', () =>
  withPowerDns(
    (_req, res) => {
      res.writeHead(429, { 'Retry-After': '1', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'Too Many Requests' }));
    },
    async (api) => {
      const e = await startError(api, true);
      assert.is(
        e.message,
        `PowerDNS API: GET ${ZONE_PATH} → HTTP 429 (rate limited, 4 attempts: Too Many Requests)`,
      );
      assert.is(
        e.hint,
        'the PowerDNS API (or a proxy in front of it) is limiting requests; wait a minute and run again',
      );
      assert.is(api.seen.length, 4, 'three retries');
      // One 429 and then an answer: the retry is enough, the run goes on.
      api.seen.length = 0;
      api.script(1, (_req, res) => json(res, 429, { error: 'Too Many Requests' }));
      api.script(1, (_req, res) => json(res, 200, { rrsets: [] }));
      const config = pdnsConfig(api);
      assert.ok(config.dns.provider === 'powerdns');
      const provider = new PowerDnsProvider({
        apiUrl: config.dns.apiUrl,
        apiKey: config.dns.apiKey,
        zone: config.dns.zone,
        retryDelaysMs: [5],
        maxRetryAfterMs: 20,
      });
      assert.equal(await provider.listA('*.example.com'), []);
      assert.is(api.seen.length, 2);
    },
  ));

test('DNS: PowerDNS fails (500): reads retried, then a message naming the provider error', () =>
  withPowerDns(
    (_req, res) => json(res, 500, { error: 'Backend error: database is locked' }),
    async (api) => {
      const e = await startError(api, true);
      assert.is(
        e.message,
        `PowerDNS API: GET ${ZONE_PATH} → HTTP 500 (Backend error: database is locked, 4 attempts)`,
      );
      assert.is(
        e.hint,
        'PowerDNS had an internal error (its log says which); run again once it answers',
      );
      assert.is(api.seen.length, 4);
    },
  ));

test('DNS: PowerDNS never answers: each attempt times out, the message says after how long', () =>
  withPowerDns(
    () => false,
    async (api) => {
      const e = await startError(api, true);
      assert.is(e.message, `PowerDNS API: GET ${ZONE_PATH} (no answer within 0.2 s, 4 attempts)`);
      assert.is(
        e.hint,
        "check PDNS_API_URL in .env and this machine's network access to the PowerDNS API, then run again",
      );
      assert.is(api.seen.length, 4);
    },
  ));

test.run();
