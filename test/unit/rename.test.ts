import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test.run();
