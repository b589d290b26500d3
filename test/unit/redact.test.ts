import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspect } from 'node:util';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonReporter } from '../../src/cli/reporters.ts';
import { clearSecrets, redact, redactedJson, registerSecret, Secret } from '../../src/redact.ts';

test('registered secrets are replaced everywhere, longest first', () => {
  clearSecrets();
  registerSecret('abcd1234');
  registerSecret('abcd1234-longer');
  assert.is(redact('x abcd1234-longer y abcd1234 z'), 'x [REDACTED] y [REDACTED] z');
});

test('short values are not treated as secrets (they would redact innocent text)', () => {
  clearSecrets();
  registerSecret('ab');
  assert.is(redact('ab cd'), 'ab cd');
});

test('each long line of a private key is redacted on its own', () => {
  clearSecrets();
  const pem =
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----';
  registerSecret(pem);
  assert.not.match(redact('partial: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'), /MIIEvQ/);
});

test('Secret never prints itself', () => {
  const s = new Secret('hunter2-long-password');
  assert.is(String(s), '[REDACTED]');
  assert.is(JSON.stringify({ s }), '{"s":"[REDACTED]"}');
  assert.not.match(inspect({ s }), /hunter2/);
  assert.is(s.reveal(), 'hunter2-long-password');
});

/** What `fn` writes to stdout. */
function stdoutOf(fn: () => void): string {
  const write = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return text;
}

test('--json output redacts a secret holding " or \\ (JSON escaping would hide it)', () => {
  clearSecrets();
  const secret = 'pa"ss\\word-4711';
  registerSecret(secret);
  const line = stdoutOf(() =>
    new JsonReporter().event({ type: 'info', host: 's1', message: `key=${secret} end` }),
  );
  assert.not.ok(line.includes('pa\\"ss\\\\word-4711'), line);
  assert.not.ok(line.includes(secret), line);
  const parsed = JSON.parse(line) as { message: string };
  assert.is(parsed.message, 'key=[REDACTED] end');
});

test('redactedJson redacts before escaping; JSON text built elsewhere is covered too', () => {
  clearSecrets();
  const secret = 'back\\slash"quote-secret';
  registerSecret(secret);
  assert.is(redactedJson({ a: [`x ${secret}`] }), '{"a":["x [REDACTED]"]}');
  assert.is(redact(JSON.stringify({ a: secret })), '{"a":"[REDACTED]"}');
});

test("a run's whole output contains no secret value", () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-redact-'));
  const secret = 'Sup3r-Secret-Api-Key-0451';
  // The secret is also pasted where a value is echoed back in an error (a URL), and the run
  // fails on bad input, so every error path prints.
  writeFileSync(
    join(dir, '.env'),
    [
      `DOMAIN=example.com`,
      `DNS_PROVIDER=powerdns`,
      `PDNS_API_KEY=${secret}`,
      `PDNS_API_URL=ftp://${secret}@x`,
      `DNS_TTL=1`,
    ].join('\n'),
  );
  writeFileSync(join(dir, 'servers.txt'), '192.0.2.1\n');
  for (const extra of [[], ['--json'], ['--dry-run']]) {
    const res = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'provision.ts',
        '--servers',
        join(dir, 'servers.txt'),
        '--env',
        join(dir, '.env'),
        ...extra,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, DEBUG: '1' },
      },
    );
    const all = res.stdout + res.stderr;
    assert.is(res.status, 2, all);
    assert.match(all, /PDNS_API_URL=ftp:\/\/\[REDACTED\]@x is not an http\(s\) URL/);
    assert.not.ok(all.includes(secret), 'the secret leaked');
  }
});

test.run();
