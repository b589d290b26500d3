/**
 * DNS_MAX_RECORDS: how many A records fit in a classic answer, and which healthy servers are
 * published when more are healthy (a window taking turns). Up to the limit nothing changes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { wantedAddresses, type HealthBook } from '../../src/agent/health.ts';
import { validateEnv } from '../../src/config/env.ts';
import { ConfigError } from '../../src/errors.ts';
import {
  DEFAULT_MAX_RECORDS,
  DNS_ROTATE_MS,
  publishWindow,
  recordsThatFit,
} from '../../src/dns/window.ts';

/** A small deterministic random source (the same cases on every run). */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

const addresses = (n: number) => Array.from({ length: n }, (_, i) => `198.51.100.${i + 1}`);
const T0 = Date.parse('2026-12-02T12:00:00Z');

test('the default: as many records as fit in 512 bytes for the longest name (15), at least 10', () => {
  assert.is(DEFAULT_MAX_RECORDS, 15);
  // 12-byte header, 255-byte name + type + class, 16 bytes per record.
  assert.ok(12 + 255 + 4 + 15 * 16 <= 512);
  assert.ok(12 + 255 + 4 + 16 * 16 > 512);
  assert.ok(DEFAULT_MAX_RECORDS >= 10);
  // app1.example.com (18 bytes in wire form): 29 without EDNS; EDNS's 1232 bytes (less its
  // 11-byte OPT record): 74.
  assert.is(recordsThatFit(512, 18), 29);
  assert.is(recordsThatFit(1232 - 11, 18), 74);
  assert.is(recordsThatFit(100), 0);
});

test('as many healthy servers as the limit or fewer: all of them, exactly as without a limit', () => {
  const next = random(7);
  for (let n = 0; n < 500; n++) {
    const all = addresses(1 + Math.floor(next() * 20));
    const healthy = all.filter(() => next() < 0.8);
    const max = healthy.length + Math.floor(next() * 3);
    const now = T0 + Math.floor(next() * 1e9);
    assert.equal(publishWindow(all, new Set(healthy), max, now), [...healthy].sort());
  }
});

test('more healthy servers than the limit: exactly the limit, healthy ones only, stable for a window', () => {
  const all = addresses(100);
  const healthy = new Set(all.filter((_, i) => i % 7 !== 3));
  const first = publishWindow(all, healthy, 15, T0);
  assert.is(first.length, 15);
  assert.ok(first.every((a) => healthy.has(a)));
  const w = Math.floor(T0 / DNS_ROTATE_MS) * DNS_ROTATE_MS;
  for (const t of [w, w + 1000, w + DNS_ROTATE_MS - 1])
    assert.equal(publishWindow(all, healthy, 15, t), first);
  const next = publishWindow(all, healthy, 15, w + DNS_ROTATE_MS);
  assert.is(next.length, 15);
  assert.not.equal(next, first);
});

test('every healthy server is published within a full rotation', () => {
  const rnd = random(11);
  for (let n = 0; n < 60; n++) {
    const all = addresses(16 + Math.floor(rnd() * 180));
    const healthy = new Set(all.filter(() => rnd() < 0.85));
    const max = 1 + Math.floor(rnd() * 20);
    if (healthy.size <= max) continue;
    const seen = new Set<string>();
    const windows = Math.ceil(all.length / max);
    const start = T0 + Math.floor(rnd() * 1e9);
    for (let w = 0; w < windows; w++) {
      for (const a of publishWindow(all, healthy, max, start + w * DNS_ROTATE_MS)) seen.add(a);
    }
    assert.equal([...seen].sort(), [...healthy].sort(), `${all.length} servers, ${max} at a time`);
  }
});

test('a published server that fails leaves at once, and only its record changes', () => {
  const all = addresses(40);
  const healthy = new Set(all);
  const before = publishWindow(all, healthy, 15, T0);
  const failing = before[4] as string;
  healthy.delete(failing);
  const after = publishWindow(all, healthy, 15, T0);
  assert.is(after.length, 15);
  assert.not.ok(after.includes(failing));
  assert.is(after.filter((a) => !before.includes(a)).length, 1);
  // Back: the same window as before it failed.
  healthy.add(failing);
  assert.equal(publishWindow(all, healthy, 15, T0), before);
});

const listed = addresses(30).map((address, i) => ({ host: `s${i + 1}`, address }));
const book = (out: readonly string[]): HealthBook =>
  Object.fromEntries(
    listed.map((s) => [
      s.host,
      {
        address: s.address,
        in: !out.includes(s.host),
        failures: 0,
        successes: 3,
        reason: undefined,
        since: 0,
      },
    ]),
  );

test('wanted addresses with the limit: the same as without it up to the limit', () => {
  const next = random(3);
  for (let n = 0; n < 300; n++) {
    const some = listed.slice(0, 1 + Math.floor(next() * 15));
    const out = some.filter(() => next() < 0.3).map((s) => s.host);
    const drained = new Set(some.filter(() => next() < 0.1).map((s) => s.host));
    const published = some.filter(() => next() < 0.5).map((s) => s.address);
    const plain = wantedAddresses(some, book(out), drained, published);
    const limited = wantedAddresses(some, book(out), drained, published, {
      max: 15,
      now: T0 + n * 7_000_000,
    });
    assert.equal(limited, plain);
  }
});

test('wanted addresses beyond the limit: the limit, never a failing or drained server', () => {
  const out = ['s2', 's5', 's9'];
  const drained = new Set(['s3', 's4']);
  const w = wantedAddresses(listed, book(out), drained, [], { max: 15, now: T0 });
  assert.is(w.addresses.length, 15);
  assert.is(w.keptLast, false);
  const bad = new Set(
    listed.filter((s) => out.includes(s.host) || drained.has(s.host)).map((s) => s.address),
  );
  assert.ok(w.addresses.every((a) => !bad.has(a)));
  // Every server failing and nothing published: the last resort is within the limit too.
  const allOut = wantedAddresses(listed, book(listed.map((s) => s.host)), new Set(), [], {
    max: 15,
    now: T0,
  });
  assert.equal([allOut.addresses.length, allOut.keptLast], [15, true]);
});

test('DNS_MAX_RECORDS: 15 by default, a whole number from 1 to 500', () => {
  assert.is(validateEnv({ DOMAIN: 'example.com' }, '.env').dnsMaxRecords, 15);
  assert.is(
    validateEnv({ DOMAIN: 'example.com', DNS_MAX_RECORDS: '28' }, '.env').dnsMaxRecords,
    28,
  );
  for (const bad of ['0', '501', 'x', '2.5', '-3']) {
    try {
      validateEnv({ DOMAIN: 'example.com', DNS_MAX_RECORDS: bad }, '.env');
      assert.unreachable(bad);
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.match(
        (e as ConfigError).problems.join(),
        /DNS_MAX_RECORDS=.* must be a whole number from 1 to 500/,
      );
    }
  }
});

test.run();
