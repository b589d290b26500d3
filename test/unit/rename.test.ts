import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planRename, rewriteFile } from '../../src/rename/apply.ts';
import { candidateFiles } from '../../src/rename/files.ts';
import { isBinary, replaceDomain } from '../../src/rename/replace.ts';

test('whole names and subdomains are replaced; longer names are not', () => {
  const text =
    'DOMAIN=example.com\napp1.example.com Example.COM\nmyexample.com example.com.au example.community\nmail@example.com\n';
  const { text: out, count } = replaceDomain(text, 'example.com', 'shop.test');
  assert.is(count, 4);
  assert.is(
    out,
    'DOMAIN=shop.test\napp1.shop.test shop.test\nmyexample.com example.com.au example.community\nmail@shop.test\n',
  );
});

test('dots in the old domain are literal', () => {
  assert.is(replaceDomain('exampleXcom', 'example.com', 'a.b').count, 0);
});

test('binary files are detected', () => {
  assert.ok(isBinary(Buffer.from([0x50, 0x00, 0x10])));
  assert.not.ok(isBinary(Buffer.from('text')));
});

test('only .env, README, apps and templates are candidates; .git, node_modules, .lab skipped', () => {
  const root = mkdtempSync(join(tmpdir(), 'shoestring-rename-'));
  for (const d of [
    'apps/app1',
    'templates/web',
    '.git',
    'node_modules/x',
    '.lab',
    'src',
    'apps/app1/node_modules',
  ])
    mkdirSync(join(root, d), { recursive: true });
  for (const f of [
    '.env',
    'README.md',
    'apps/app1/host',
    'templates/web/site.hbs',
    '.git/config',
    'node_modules/x/a',
    '.lab/.env',
    'src/code.ts',
    'apps/app1/node_modules/y',
  ]) {
    writeFileSync(join(root, f), 'example.com');
  }
  assert.equal(candidateFiles(root, join(root, '.env')), [
    '.env',
    'README.md',
    'apps/app1/host',
    'templates/web/site.hbs',
  ]);
});

test('renaming keeps each file its mode: a 0600 .env stays 0600', () => {
  const root = mkdtempSync(join(tmpdir(), 'shoestring-rename-'));
  mkdirSync(join(root, 'apps/app1'), { recursive: true });
  const modes: Record<string, number> = {
    '.env': 0o600,
    'README.md': 0o644,
    'apps/app1/host': 0o640,
    'apps/app1/run.sh': 0o755,
  };
  for (const [f, mode] of Object.entries(modes)) {
    writeFileSync(join(root, f), `x example.com\n`);
    chmodSync(join(root, f), mode);
  }
  const changes = planRename(root, join(root, '.env'), 'example.com', 'shop.test');
  assert.equal(
    changes.map((c) => [c.file, c.count]),
    [
      ['.env', 1],
      ['README.md', 1],
      ['apps/app1/host', 1],
      ['apps/app1/run.sh', 1],
    ],
  );
  for (const c of changes) rewriteFile(c.path, c.text);
  for (const [f, mode] of Object.entries(modes)) {
    assert.is(readFileSync(join(root, f), 'utf8'), 'x shop.test\n', f);
    assert.is((statSync(join(root, f)).mode & 0o7777).toString(8), mode.toString(8), f);
    assert.not.ok(existsSync(join(root, `${f}.rename-domain.tmp`)));
  }
});

test.run();
