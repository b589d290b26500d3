// What keeps planning fast for hundreds of servers (bench/planning.ts) without changing what it
// plans: each shortcut gives exactly what the plain way gives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSections, sectionBlocks, sectionLine } from '../../src/plan/sections.ts';
import { base64Lines, sha256, stepSha256, writeFileScript } from '../../src/plan/steps/file.ts';
import { decideStep, files } from '../../src/plan/steps/index.ts';
import { rememberLong } from '../../src/util/memo.ts';
import { flat } from '../../src/util/flat.ts';
import { render, renderText } from '../../src/templates.ts';
import { TemplateError } from '../../src/errors.ts';
import { renderWgConf, sameConf, type Peer } from '../../src/network/wireguard.ts';
import { meshFile } from '../../src/network/mesh-file.ts';
import { parseNetworkSurvey } from '../../src/network/survey.ts';

/** A small deterministic random source (the same cases on every run). */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

test('sectionBlocks: each section as readSections gives its lines, each line ending in a newline', () => {
  const pieces = [
    sectionLine('a'),
    sectionLine('b'),
    `${sectionLine('a')}  `,
    `${sectionLine('c')}\r`,
    `  ${sectionLine('not a marker')}`,
    'text',
    'text with trailing blanks  ',
    'tab\t',
    'cr\r',
    '',
    '   ',
    '\u00a0',
    '  indented',
    '# comment',
    'x',
  ];
  const next = random(42);
  for (let n = 0; n < 2000; n++) {
    const lines = Array.from(
      { length: Math.floor(next() * 12) },
      () => pieces[Math.floor(next() * pieces.length)],
    );
    const output = lines.join('\n') + (next() < 0.5 ? '\n' : '');
    const expected = new Map(
      [...readSections(output)].map(([k, v]) => [k, v.map((l) => `${l}\n`).join('')]),
    );
    assert.equal(sectionBlocks(output), expected, JSON.stringify(output));
  }
});

test('a network survey whose configuration needs no cleaning is read as it came', () => {
  const conf = renderWgConf({
    address: '10.88.0.1',
    cidr: '10.88.0.0/24',
    port: 51820,
    peers: [{ name: 's2', publicKey: 'K2', address: '203.0.113.2', private: '10.88.0.2' }],
  });
  const survey = parseNetworkSurvey(
    `${sectionLine('wg_conf')}\n${conf}${sectionLine('wg_kernel')}\nyes\n`,
  );
  assert.is(survey.conf, conf);
  assert.is(survey.address, '10.88.0.1');
  assert.is(survey.kernel, true);
  // With blank lines and trailing blanks, the same as before: cleaned line by line.
  const messy = parseNetworkSurvey(
    `${sectionLine('wg_conf')}\n\n[Interface]  \nAddress = 10.88.0.7/24\r\n\n${sectionLine('wg_kernel')}\nno`,
  );
  assert.is(messy.conf, '[Interface]\nAddress = 10.88.0.7/24\n');
  assert.is(messy.kernel, false);
});

test('the WireGuard file: one block per peer, nothing after the last; none without peers', () => {
  const peer = (i: number) => ({
    name: `s${i}`,
    publicKey: `K${i}`,
    address: `203.0.113.${i}`,
    private: `10.88.0.${i}`,
  });
  const two = renderWgConf({
    address: '10.88.0.1',
    cidr: '10.88.0.0/24',
    port: 51820,
    peers: [peer(2), peer(3)],
  });
  assert.ok(
    two.endsWith(
      [
        'PostUp = wg set %i private-key /etc/wireguard/private.key',
        '# s2',
        '[Peer]',
        'PublicKey = K2',
        'Endpoint = 203.0.113.2:51820',
        'AllowedIPs = 10.88.0.2/32',
        'PersistentKeepalive = 25',
        '# s3',
        '[Peer]',
        'PublicKey = K3',
        'Endpoint = 203.0.113.3:51820',
        'AllowedIPs = 10.88.0.3/32',
        'PersistentKeepalive = 25',
        '',
      ].join('\n'),
    ),
    two,
  );
  const none = renderWgConf({ address: '10.88.0.1', cidr: '10.88.0.0/24', port: 51820, peers: [] });
  assert.ok(none.endsWith('PostUp = wg set %i private-key /etc/wireguard/private.key\n'), none);
  // The same peer object at another port is shown at that port.
  const p = peer(4);
  renderWgConf({ address: '10.88.0.1', cidr: '10.88.0.0/24', port: 51820, peers: [p] });
  const other = renderWgConf({
    address: '10.88.0.1',
    cidr: '10.88.0.0/24',
    port: 4000,
    peers: [p],
  });
  assert.match(other, /Endpoint = 203\.0\.113\.4:4000\n/);
});

test('sameConf: no file on one side is the same only as a file with no setting', () => {
  assert.ok(sameConf('', ''));
  assert.ok(sameConf('', '# only a comment\n\n   \n'));
  assert.ok(sameConf('# x\n', ''));
  assert.not.ok(sameConf('', '[Interface]\n'));
  assert.not.ok(sameConf('', '  # indented: a setting line as far as the comparison goes\n'));
  assert.ok(sameConf('[Interface]\n# c\n', '[Interface]  \n\n'));
});

test('base64Lines: lines of 76 characters, each full one ending in a newline', () => {
  const plain = (text: string) =>
    Buffer.from(text, 'utf8')
      .toString('base64')
      .replace(/(.{76})/g, '$1\n');
  for (const n of [0, 1, 56, 57, 58, 113, 114, 115, 1000, 4096]) {
    const text = 'é'.repeat(n % 7) + 'x'.repeat(n);
    assert.is(base64Lines(text), plain(text), `${n}`);
  }
});

test("a file change's script is made when it is read, and is the step's write script", () => {
  const step = files.file('/etc/example.conf', 'a = 1\n', { mode: '0640' });
  const change = decideStep(step, { exists: false });
  assert.ok(change);
  assert.is(change.script, writeFileScript(step));
  assert.is(change.script, change.script);
  // A long text (the agent's bundle) is encoded once, for every server's step alike.
  const long = 'x'.repeat(300 * 1024);
  const a = writeFileScript(files.file('/a', long));
  const b = writeFileScript(files.file('/a', long));
  assert.is(a, b);
  assert.ok(a.includes(base64Lines(long)));
});

test('rememberLong: long texts computed once while kept, short ones every time', () => {
  const calls: string[] = [];
  const f = rememberLong(
    (t) => {
      calls.push(t);
      return t.toUpperCase();
    },
    { minLength: 3, entries: 2 },
  );
  assert.is(f('ab'), 'AB');
  assert.is(f('ab'), 'AB');
  assert.is(f('abc'), 'ABC');
  assert.is(f('abc'), 'ABC');
  assert.equal(calls, ['ab', 'ab', 'abc']);
  f('def');
  f('abc'); // used last: kept
  f('ghi'); // the third long text: 'def', used least recently, is forgotten
  f('abc');
  f('def');
  assert.equal(calls, ['ab', 'ab', 'abc', 'def', 'ghi', 'def']);
});

test('templates: a kept render is the same text; a missing value fails every time', () => {
  const data = { service: 'wg-quick@wg0' };
  assert.is(render('network/after-wg.conf.hbs', data), render('network/after-wg.conf.hbs', data));
  const unique = render('network/after-wg.conf.hbs', data, { unique: true });
  assert.is(unique, render('network/after-wg.conf.hbs', data));
  for (let i = 0; i < 2; i++) {
    assert.throws(
      () => render('network/after-wg.conf.hbs', {}),
      (e: unknown) => e instanceof TemplateError,
    );
  }
  // Lists, with and without the @-variables.
  assert.is(renderText('t1', '{{#each xs}}{{this}};{{/each}}', { xs: ['a', 'b'] }), 'a;b;');
  assert.is(renderText('t2', '{{#each xs}}{{@index}}{{/each}}', { xs: ['a', 'b'] }), '01');
});

test('flat: the same text', () => {
  let s = '';
  for (let i = 0; i < 1000; i++) s += `line ${i}\n`;
  const copy = `${s}`;
  assert.is(flat(s), copy);
  assert.is(flat('12'), '12');
});

test('a file made when read: the same step, the same plan, as with its text', () => {
  const text = '[uwsgi]\nsubscribe2 = server=10.88.0.1:7000,key=a.example.com,addr=é\n';
  let made = 0;
  const later = files.file('/etc/example.ini', {
    text: () => {
      made++;
      return text;
    },
  });
  const plain = files.file('/etc/example.ini', text);
  assert.is(made, 0, 'nothing made until read');
  assert.equal(Object.keys(later), Object.keys(plain));
  assert.is(JSON.stringify(later), JSON.stringify(plain));
  assert.is(stepSha256(later), sha256(text));
  const options = { mode: '0600', notify: [{ service: 'x', action: 'reload' as const }] };
  const both = [
    files.file('/etc/x', { text: () => text, sha256: () => sha256(text) }, options),
    files.file('/etc/x', text, options),
  ];
  const facts = [
    { exists: false },
    { exists: true, mode: '0600', owner: 'root', group: 'root', sha256: sha256(text) },
    { exists: true, mode: '0644', owner: 'root', group: 'root', sha256: sha256(text) },
    { exists: true, mode: '0600', owner: 'root', group: 'root', sha256: sha256('other') },
  ] as const;
  for (const fact of facts) {
    const [a, b] = both.map((step) => decideStep(step, fact));
    assert.is(JSON.stringify(a), JSON.stringify(b), JSON.stringify(fact));
    assert.is(a?.script, b?.script);
  }
});

/** Peers of every kind of address, some names not ASCII (byte and character offsets differ). */
function peers(n: number, next: () => number): Peer[] {
  return Array.from({ length: n }, (_, i) => ({
    name: next() < 0.2 ? `sérveur-${i}` : `s${i}`,
    publicKey: `K${i}${'x'.repeat(Math.floor(next() * 40))}=`,
    address: next() < 0.3 ? `2001:db8::${i + 1}` : `203.0.113.${i + 1}`,
    private: `10.88.0.${i + 1}`,
  }));
}

test("meshFile: each server's file as renderWgConf makes it, hashed and compared the same", () => {
  const next = random(7);
  for (const n of [2, 3, 4, 5, 9, 17]) {
    const all = peers(n, next);
    for (const port of [51820, 4000]) {
      const made = all.map((self, i) => {
        const conf = { address: self.private, cidr: '10.88.0.0/16', port };
        const file = meshFile({ ...conf, all, self: i });
        const plain = renderWgConf({ ...conf, peers: all.filter((_, j) => j !== i) });
        return { file, plain };
      });
      made.forEach(({ file, plain }, i) => {
        assert.ok(file, `${n} servers, server ${i}`);
        assert.is(file.text(), plain);
        assert.is(file.sha256?.(), sha256(plain));
        const other = made[(i + 1) % n]?.plain ?? '';
        const cases = [
          plain,
          '',
          '# nothing but a comment\n\n',
          other,
          `${plain}\n`,
          plain.replace(/^# .*$/m, '# renamed'),
          plain.replace(/\n/g, '\n\n'),
          plain.slice(0, -1),
          plain.replace(/PersistentKeepalive = 25\n$/, 'PersistentKeepalive = 26\n'),
          `x${plain.slice(1)}`,
        ];
        // And one character changed, anywhere (in small clusters).
        if (n <= 4) {
          for (let at = 0; at < plain.length; at++)
            cases.push(
              `${plain.slice(0, at)}${plain[at] === 'a' ? 'b' : 'a'}${plain.slice(at + 1)}`,
            );
        }
        for (const c of cases) assert.is(file.sameAs(c), sameConf(plain, c), JSON.stringify(c));
      });
    }
  }
  // One server alone, or one not in the list: not made this way.
  const one = peers(1, next);
  const conf = { address: '10.88.0.1', cidr: '10.88.0.0/24', port: 51820 };
  assert.is(meshFile({ ...conf, all: one, self: 0 }), undefined);
  assert.is(meshFile({ ...conf, all: peers(3, next), self: 3 }), undefined);
});

test.run();
