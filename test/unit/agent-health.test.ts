/** The agent's health book and the records it wants (pure). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyRound, wantedAddresses, type HealthBook } from '../../src/agent/health.ts';

const T = { down: 3, up: 3 };
const PUBLISHED = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
const probe = (host: string, ok: boolean) => ({
  host,
  address: `192.0.2.${host.slice(1)}`,
  ok,
  ...(ok ? {} : { reason: 'no answer in 1500 ms' }),
});

function rounds(results: boolean[][], start: HealthBook = {}) {
  let book = start;
  const changes = [];
  let now = 0;
  for (const r of results) {
    const round = applyRound(
      book,
      r.map((ok, i) => probe(`s${i + 1}`, ok)),
      T,
      (now += 2000),
      PUBLISHED,
    );
    book = round.book;
    changes.push(...round.changes);
  }
  return { book, changes };
}

test('a server is withdrawn after 3 failures in a row, not 2, and restored after 3 successes', () => {
  const two = rounds([
    [true, false],
    [true, false],
  ]);
  assert.is(two.book['s2']?.in, true);
  assert.equal(two.changes, []);
  const three = rounds([
    [true, false],
    [true, false],
    [true, false],
  ]);
  assert.is(three.book['s2']?.in, false);
  assert.equal(
    three.changes.map((c) => [c.host, c.to]),
    [['s2', 'out']],
  );
  assert.match(three.changes[0]!.reason, /3 failed \/healthz in a row \(no answer in 1500 ms\)/);
  const back = rounds(
    [
      [true, true],
      [true, true],
      [true, true],
    ],
    three.book,
  );
  assert.is(back.book['s2']?.in, true);
  assert.equal(
    back.changes.map((c) => [c.host, c.to]),
    [['s2', 'in']],
  );
});

test('a flapping server (fail, ok, fail) is never withdrawn; one success resets the count', () => {
  const r = rounds([[false], [false], [true], [false], [false]]);
  assert.is(r.book['s1']?.in, true);
  assert.is(r.book['s1']?.failures, 2);
});

test('a withdrawn server needs 3 good rounds in a row to come back', () => {
  const out = rounds([[false], [false], [false]]).book;
  const r = rounds([[true], [true], [false], [true], [true]], out);
  assert.is(r.book['s1']?.in, false);
});

test('since changes only when in/out changes; a server no longer probed leaves the book', () => {
  const first = applyRound({}, [probe('s1', true), probe('s2', true)], T, 1000, PUBLISHED).book;
  const second = applyRound(first, [probe('s1', true)], T, 3000, PUBLISHED).book;
  assert.is(second['s1']?.since, 1000);
  assert.is(second['s2'], undefined);
});

test('a server DNS does not publish yet starts out: in only after 3 good rounds', () => {
  // s4 is listed (its record in etcd) while it is being provisioned: its front may not work yet.
  let book: HealthBook = {};
  const seen: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const r = applyRound(book, [probe('s1', true), probe('s4', true)], T, i * 2000, ['192.0.2.1']);
    book = r.book;
    seen.push(book['s4']?.in ?? true);
  }
  assert.equal(seen, [false, false, true]);
  // A published server the book does not know (a new holder without a stored book) stays in.
  assert.is(applyRound({}, [probe('s1', false)], T, 0, ['192.0.2.1']).book['s1']?.in, true);
});

const listed = [
  { host: 's1', address: '192.0.2.1' },
  { host: 's2', address: '192.0.2.2' },
  { host: 's3', address: '192.0.2.3' },
];
const bookOf = (ins: Record<string, boolean>): HealthBook =>
  Object.fromEntries(
    Object.entries(ins).map(([h, i]) => [
      h,
      { address: '', in: i, failures: 0, successes: 0, reason: undefined, since: 0 },
    ]),
  );

test('wanted: healthy, not drained; unknown servers count as healthy', () => {
  const w = wantedAddresses(listed, bookOf({ s2: false }), new Set(['s3']), []);
  assert.equal(w, { addresses: ['192.0.2.1'], keptLast: false });
});

test('wanted: never none; when every server fails, what is published stays', () => {
  const all = bookOf({ s1: false, s2: false, s3: false });
  assert.equal(wantedAddresses(listed, all, new Set(), ['192.0.2.2']), {
    addresses: ['192.0.2.2'],
    keptLast: true,
  });
  // Nothing published at all: every listed server rather than none.
  assert.equal(wantedAddresses(listed, all, new Set(), []).addresses.length, 3);
  // A published address that is no longer listed is not kept.
  assert.equal(wantedAddresses(listed, all, new Set(), ['198.51.100.9']).addresses.length, 3);
  assert.equal(wantedAddresses([], all, new Set(), ['192.0.2.2']).addresses, []);
});

test.run();
