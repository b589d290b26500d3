import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatRecord } from '../../src/lock/record.ts';
import { q } from '../../src/ssh/quote.ts';
import {
  acquireScript,
  parseAcquireOutput,
  parseRefreshOutput,
  parseReleaseOutput,
  refreshScript,
  releaseScript,
} from '../../src/lock/scripts.ts';
import { alice } from './fixtures/lock-holder.ts';

const line = formatRecord(alice);

// Outputs as the acquire script prints them.
const fixtures = {
  taken:
    '@@shoestring:lock-result\ntaken\n@@shoestring:lock-lease\n694d7c4ad0c1d50b\n@@shoestring:lock-replaced\n',
  takenWithoutEtcd:
    '@@shoestring:lock-result\ntaken\n@@shoestring:lock-lease\n\n@@shoestring:lock-replaced\n',
  heldFile: `@@shoestring:lock-result\nheld\n@@shoestring:lock-holder\nfile live 12 ${line}\n`,
  heldEtcd: `@@shoestring:lock-result\nheld\n@@shoestring:lock-holder\netcd live - ${line}\n`,
  expired: `@@shoestring:lock-result\ntaken\n@@shoestring:lock-lease\n\n@@shoestring:lock-replaced\nfile expired 75 ${line}\n`,
  broken: `@@shoestring:lock-result\ntaken\n@@shoestring:lock-lease\n694d7c4ad0c1d50c\n@@shoestring:lock-replaced\nfile broken 3 ${line}\netcd broken - ${line}\n`,
};

test('taken: the lease (when etcd answered), nothing replaced', () => {
  assert.equal(parseAcquireOutput(fixtures.taken), {
    result: 'taken',
    leaseId: '694d7c4ad0c1d50b',
    replaced: [],
  });
  assert.equal(parseAcquireOutput(fixtures.takenWithoutEtcd), {
    result: 'taken',
    leaseId: undefined,
    replaced: [],
  });
});

test('held by another (file): the holder, its age, its record', () => {
  assert.equal(parseAcquireOutput(fixtures.heldFile), {
    result: 'held',
    holder: { source: 'file', state: 'live', ageSeconds: 12, record: alice, raw: line },
  });
});

test('held by another (etcd): the holder from the key', () => {
  assert.equal(parseAcquireOutput(fixtures.heldEtcd), {
    result: 'held',
    holder: { source: 'etcd', state: 'live', ageSeconds: undefined, record: alice, raw: line },
  });
});

test('an unreadable holder record is still a holder', () => {
  const out = parseAcquireOutput(
    '@@shoestring:lock-result\nheld\n@@shoestring:lock-holder\nfile live 3 garbage\n',
  );
  assert.equal(out, {
    result: 'held',
    holder: { source: 'file', state: 'live', ageSeconds: 3, record: undefined, raw: 'garbage' },
  });
});

test('expired, taken over: the expired record is listed', () => {
  const out = parseAcquireOutput(fixtures.expired);
  assert.equal(out, {
    result: 'taken',
    leaseId: undefined,
    replaced: [{ source: 'file', state: 'expired', ageSeconds: 75, record: alice, raw: line }],
  });
});

test('broken: both removed locks are listed', () => {
  const out = parseAcquireOutput(fixtures.broken);
  assert.ok(out?.result === 'taken');
  assert.is(out.leaseId, '694d7c4ad0c1d50c');
  assert.equal(
    out.replaced.map((r) => [r.source, r.state, r.ageSeconds, r.record?.user]),
    [
      ['file', 'broken', 3, 'alice'],
      ['etcd', 'broken', undefined, 'alice'],
    ],
  );
});

test('output that is not understood gives undefined', () => {
  assert.is(parseAcquireOutput(''), undefined);
  assert.is(parseAcquireOutput('bash: flock: command not found'), undefined);
  assert.is(parseAcquireOutput('@@shoestring:lock-result\nmaybe\n'), undefined);
  assert.is(parseAcquireOutput('@@shoestring:lock-result\nheld\n'), undefined);
  assert.is(
    parseAcquireOutput('@@shoestring:lock-result\ntaken\n@@shoestring:lock-lease\nnot-hex\n'),
    undefined,
  );
  assert.is(
    parseAcquireOutput('@@shoestring:lock-result\ntaken\n@@shoestring:lock-replaced\nsomething\n'),
    undefined,
  );
});

test('refresh and release outcomes', () => {
  assert.equal(parseRefreshOutput('@@shoestring:lock-result\nfile ok\netcd none\n'), {
    file: 'ok',
    etcd: 'none',
  });
  assert.equal(parseRefreshOutput('@@shoestring:lock-result\nfile lost\netcd failed\n'), {
    file: 'lost',
    etcd: 'failed',
  });
  assert.is(parseRefreshOutput('@@shoestring:lock-result\nfile ok\n'), undefined);
  assert.is(parseRefreshOutput('@@shoestring:lock-result\nfile gone\netcd ok\n'), undefined);
  assert.equal(parseReleaseOutput('@@shoestring:lock-result\nfile not-ours\netcd gone\n'), {
    file: 'not-ours',
    etcd: 'gone',
  });
  assert.is(parseReleaseOutput('@@shoestring:lock-result\nfile ok\netcd none\n'), undefined);
});

test('values enter the scripts quoted: a hostile command line stays data', () => {
  const hostile = { ...alice, command: `./provision.ts '$(rm -rf /)' "\`id\`"` };
  const script = acquireScript(hostile, { ttlSeconds: 60, breakLock: false, dir: "/tmp/it's" });
  assert.ok(script.includes(`dir='/tmp/it'\\''s'`));
  assert.ok(script.includes(`record=${q(formatRecord(hostile))}\n`));
  assert.ok(script.includes(`ttl=60`));
  assert.ok(script.includes(`break_lock=0`));
  assert.ok(acquireScript(alice, { ttlSeconds: 60, breakLock: true }).includes('break_lock=1'));
  assert.ok(
    acquireScript(alice, { ttlSeconds: 60, breakLock: true }).includes(`dir=/var/lib/shoestring`),
  );
  assert.ok(refreshScript('0123abcd', '694d').includes(`lease=694d`));
  assert.ok(releaseScript('0123abcd', undefined).includes(`lease=''`));
});

test.run();
