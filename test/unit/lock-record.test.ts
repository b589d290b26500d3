import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  describeHolder,
  formatAge,
  formatRecord,
  isExpired,
  parseRecord,
} from '../../src/lock/record.ts';
import { alice } from './fixtures/lock-holder.ts';

test('a record is one JSON line and parses back to itself', () => {
  const line = formatRecord({ ...alice, command: './destroy.ts --yes "x"\n' });
  assert.not.match(line, /\n/);
  assert.equal(parseRecord(line), { ...alice, command: './destroy.ts --yes "x"\n' });
  assert.equal(parseRecord(`  ${formatRecord(alice)}  `), alice);
});

test('malformed records are refused', () => {
  assert.is(parseRecord(''), undefined);
  assert.is(parseRecord('not json'), undefined);
  assert.is(parseRecord('null'), undefined);
  assert.is(parseRecord(JSON.stringify({ ...alice, pid: '4242' })), undefined);
  assert.is(parseRecord(JSON.stringify({ ...alice, pid: 1.5 })), undefined);
  assert.is(parseRecord(JSON.stringify({ ...alice, token: 'not hex' })), undefined);
  assert.is(parseRecord(JSON.stringify({ ...alice, user: undefined })), undefined);
  assert.is(parseRecord(JSON.stringify({ ...alice, ttl: '60' })), undefined);
  assert.is(parseRecord(JSON.stringify({ ...alice, ttl: 0 })), undefined);
});

test("a record carries its holder's TTL; a record without one (older runs) still parses", () => {
  const line = formatRecord({ ...alice, ttl: 15 });
  assert.match(line, /,"ttl":15\}$/);
  assert.equal(parseRecord(line), { ...alice, ttl: 15 });
  assert.not.match(formatRecord(alice), /ttl/);
  assert.equal(parseRecord(formatRecord(alice)), alice);
});

test('a lock expires once its last refresh is TTL seconds old', () => {
  assert.not.ok(isExpired(1000, 1000, 60));
  assert.not.ok(isExpired(1000, 1059, 60));
  assert.ok(isExpired(1000, 1060, 60));
  assert.ok(isExpired(1000, 5000, 60));
});

test('describeHolder names the holder, the start and the age', () => {
  const now = new Date(Date.parse(alice.since) + 41_000);
  assert.is(
    describeHolder(alice, now),
    'the cluster is locked by alice@laptop (pid 4242, ./provision.ts) since 2026-12-01 22:40:12 UTC (41 s ago)',
  );
  const later = new Date(Date.parse(alice.since) + 3 * 3600_000);
  assert.match(describeHolder(alice, later), /\(3 h ago\)$/);
  // The holder's clock may be ahead of ours: never a negative age.
  assert.match(describeHolder(alice, new Date(Date.parse(alice.since) - 5000)), /\(0 s ago\)$/);
  assert.is(
    describeHolder({ ...alice, since: 'yesterday' }, now),
    'the cluster is locked by alice@laptop (pid 4242, ./provision.ts) since yesterday',
  );
});

test('ages read in the largest sensible unit', () => {
  assert.is(formatAge(119_999), '119 s');
  assert.is(formatAge(120_000), '2 min');
  assert.is(formatAge(119 * 60_000), '119 min');
  assert.is(formatAge(47 * 3600_000), '47 h');
  assert.is(formatAge(72 * 3600_000), '3 d');
});

test.run();
