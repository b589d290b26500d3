import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { ENV_KEYS, loadConfigFile, parseEnv, validateEnv } from '../../src/config/env.ts';
import { CLOUDNS_TTLS } from '../../src/dns/cloudns.ts';
import { ConfigError } from '../../src/errors.ts';
import { clearSecrets, redact } from '../../src/redact.ts';
import { configProblems } from './fixtures/config-problems.ts';

function problems(raw: Record<string, string>): string[] {
  try {
    validateEnv(raw, '.env');
  } catch (e) {
    assert.instance(e, ConfigError);
    return [...(e as ConfigError).problems];
  }
  assert.unreachable('expected a ConfigError');
  return [];
}

test('a minimal .env: only DOMAIN', () => {
  const c = validateEnv({ DOMAIN: 'Example.COM.' }, '.env');
  assert.is(c.domain, 'example.com');
  assert.is(c.webServer, 'apache');
  assert.is(c.database, 'none');
  assert.is(c.dns.provider, 'none');
  assert.is(c.acme, undefined);
  assert.is(c.dnsTtl, 60);
  assert.ok(Object.isFrozen(c));
});

test('every missing or invalid key is listed at once, with what it is for', () => {
  const p = problems({
    DNS_PROVIDER: 'powerdns',
    WEB_SERVER: 'iis',
    DNS_TTL: '5',
    PDNS_API_URL: 'ftp://x',
    DOMIAN: 'x.com',
  });
  const text = p.join('\n');
  assert.match(text, /DOMAIN is missing: the domain the cluster serves/);
  assert.match(text, /WEB_SERVER=iis is not one of apache, nginx/);
  assert.match(text, /DNS_TTL=5 must be a whole number/);
  assert.match(text, /PDNS_API_URL=ftp:\/\/x is not an http\(s\) URL/);
  assert.match(text, /PDNS_API_KEY is missing/);
  assert.match(text, /ACME_EMAIL is missing/);
  assert.match(text, /DOMIAN is not a Shoestring setting/);
  assert.ok(p.length >= 7);
});

test('invalid domains are refused', () => {
  for (const d of ['localhost', 'exa mple.com', '-bad.com', 'a..b.com', 'x.123']) {
    assert.ok(
      problems({ DOMAIN: d }).some((l) => l.includes('not a valid domain')),
      d,
    );
  }
});

test('powerdns with TLS by ACME', () => {
  clearSecrets();
  const c = validateEnv(
    {
      DOMAIN: 'shop.example.com',
      DNS_PROVIDER: 'powerdns',
      PDNS_API_URL: 'http://ns:8081/',
      PDNS_API_KEY: 'k3y-value-123',
      PDNS_ZONE: 'example.com',
      ACME_EMAIL: 'ops@example.com',
    },
    '.env',
  );
  assert.ok(
    c.dns.provider === 'powerdns' &&
      c.dns.apiUrl === 'http://ns:8081' &&
      c.dns.zone === 'example.com',
  );
  assert.is(c.acme?.email, 'ops@example.com');
  assert.match(c.acme?.directoryUrl ?? '', /^https:\/\//);
  // The key was registered as a secret and never prints.
  assert.is(redact('key=k3y-value-123'), 'key=[REDACTED]');
  assert.is(JSON.stringify(c).includes('k3y-value-123'), false);
});

test('a zone that does not contain the domain is refused', () => {
  const p = problems({
    DOMAIN: 'example.com',
    DNS_PROVIDER: 'cloudflare',
    CLOUDFLARE_API_TOKEN: 'tok-12345',
    CLOUDFLARE_ZONE: 'other.org',
    TLS: 'off',
  });
  assert.equal(p, ['DNS zone other.org does not contain DOMAIN=example.com']);
});

test('cloudns needs exactly one of the two ids', () => {
  assert.match(
    problems({
      DOMAIN: 'example.com',
      DNS_PROVIDER: 'cloudns',
      CLOUDNS_AUTH_PASSWORD: 'pw-12345',
      TLS: 'off',
    }).join(),
    /CLOUDNS_AUTH_ID or CLOUDNS_SUB_AUTH_ID is missing/,
  );
  assert.match(
    problems({
      DOMAIN: 'example.com',
      DNS_PROVIDER: 'cloudns',
      CLOUDNS_AUTH_ID: '1',
      CLOUDNS_SUB_AUTH_ID: '2',
      CLOUDNS_AUTH_PASSWORD: 'pw-12345',
      TLS: 'off',
    }).join(),
    /only one/,
  );
});

test('cloudns accepts only its own TTLs', () => {
  const base = {
    DOMAIN: 'example.com',
    DNS_PROVIDER: 'cloudns',
    CLOUDNS_AUTH_ID: '1',
    CLOUDNS_AUTH_PASSWORD: 'pw-12345',
    TLS: 'off',
  };
  assert.is(validateEnv({ ...base, DNS_TTL: '300' }, '.env').dnsTtl, 300);
  assert.equal(problems({ ...base, DNS_TTL: '120' }), [
    `DNS_TTL=120 is not a TTL ClouDNS accepts: use one of ${CLOUDNS_TTLS.join(', ')}`,
  ]);
});

test('TLS=acme without a DNS provider is explained', () => {
  assert.match(
    problems({ DOMAIN: 'example.com', TLS: 'acme', ACME_EMAIL: 'a@b.cd' }).join(),
    /needs a DNS_PROVIDER/,
  );
});

test('.env.example documents exactly the keys the code reads', () => {
  const example = parse(readFileSync('.env.example'));
  const documented = new Set(
    [...readFileSync('.env.example', 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map(
      (m) => m[1],
    ),
  );
  for (const k of Object.keys(example)) documented.add(k);
  assert.equal([...documented].sort(), Object.keys(ENV_KEYS).sort());
});

function envProblems(text: string): readonly string[] {
  return configProblems(() => parseEnv(text, 'conf/.env'));
}

test('a key given twice names the file, the key and both lines; other problems still listed', () => {
  assert.equal(
    envProblems('# settings\nDOMAIN=a.example.com\nWEB_SERVER=iis\n\nDOMAIN=b.example.com\n'),
    [
      'conf/.env: DOMAIN is set twice, on lines 2 and 5: keep one',
      'WEB_SERVER=iis is not one of apache, nginx: the web front: apache (default) or nginx',
    ],
  );
});

test('a line that is not KEY=value is named by its line, never shown; quoted values may span lines', () => {
  assert.equal(
    envProblems(
      'DOMAIN=example.com\r\nexport SSH_USER=deploy\r\nSSH_USER\r\n# note\r\nk3y-pasted-alone\r\nLAB_DNS="10.0.0.1\n=not a key"\nWEB_SERVER: nginx\n',
    ),
    [
      'conf/.env:3: SSH_USER has no "=": write it as SSH_USER=value',
      'conf/.env:5: not a KEY=value line (the line is not shown: it may hold a secret): write it as KEY=value, or start it with # to make it a comment',
      'LAB_DNS=10.0.0.1\\n=not a key is not an IP address',
    ],
  );
});

test('duplicate keys: three times, export prefix, CRLF, a quoted value spanning lines', () => {
  assert.equal(
    envProblems(
      'DOMAIN=example.com\r\nSSH_USER=a\r\nexport SSH_USER=b\r\nLAB_DNS="10.0.0.1\nSSH_USER=c"\r\nSSH_USER=d\r\n',
    ),
    [
      'conf/.env: SSH_USER is set 3 times, on lines 2, 3 and 6: keep one',
      'LAB_DNS=10.0.0.1\\nSSH_USER=c is not an IP address',
    ],
  );
});

test('overlong values and keys are cut to 80 characters in messages', () => {
  const garbage = 'x'.repeat(10_000);
  assert.equal(envProblems(`DOMAIN=example.com\nWEB_SERVER=${garbage}\n${garbage}=1\n`), [
    `WEB_SERVER=${'x'.repeat(79)}… is not one of apache, nginx: the web front: apache (default) or nginx`,
    `${'x'.repeat(79)}… is not a Shoestring setting (misspelt? see .env.example)`,
  ]);
});

const WHY_KEY = 'private key file to log in with (default: ssh-agent and ~/.ssh/config)';

test('SSH_KEY must be a readable regular file: missing, a directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-key-'));
  mkdirSync(join(dir, 'keys'));
  const env = join(dir, '.env');
  writeFileSync(env, 'DOMAIN=example.com\nSSH_KEY=keys\n');
  assert.throws(
    () => loadConfigFile(env),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.exitCode === 2 &&
      e.problems.join() ===
        `SSH_KEY=keys: ${join(dir, 'keys')} is a directory, not a file (${WHY_KEY})`,
  );
  writeFileSync(env, 'DOMAIN=example.com\nSSH_KEY=keys/id_ed25519\n');
  assert.throws(
    () => loadConfigFile(env),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.problems.join() ===
        `SSH_KEY=keys/id_ed25519: ${join(dir, 'keys/id_ed25519')} not found (${WHY_KEY})`,
  );
  writeFileSync(join(dir, 'keys/id_ed25519'), 'key');
  assert.is(loadConfigFile(env).ssh.key, join(dir, 'keys/id_ed25519'));
});

test('SSH_KEY must be readable by the user running the command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-key-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'id'), 'key');
  chmodSync(join(dir, 'id'), 0o000);
  writeFileSync(join(dir, '.env'), 'DOMAIN=example.com\nSSH_KEY=id\n');
  chmodSync(join(dir, '.env'), 0o644);
  const expected = `SSH_KEY=id: ${join(dir, 'id')} cannot be read (EACCES): check its permissions (${WHY_KEY})`;
  if (process.getuid?.() !== 0) {
    assert.throws(
      () => loadConfigFile(join(dir, '.env')),
      (e: unknown) => e instanceof ConfigError && e.problems.join() === expected,
    );
    return;
  }
  // root reads any file: ask as nobody instead.
  const code = `import { loadConfigFile } from ${JSON.stringify(join(import.meta.dirname, '../../src/config/env.ts'))};
try { loadConfigFile(${JSON.stringify(join(dir, '.env'))}); } catch (e) { console.log(JSON.stringify(e.problems)); }`;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    uid: 65534,
    gid: 65534,
    cwd: join(import.meta.dirname, '../..'),
  });
  if (res.stdout === '' && /EACCES|ERR_MODULE_NOT_FOUND/.test(res.stderr)) {
    console.log('  (skipped: the checkout is not readable by nobody)');
    return;
  }
  assert.equal(JSON.parse(res.stdout) as unknown, [expected], res.stderr);
});

test.run();
