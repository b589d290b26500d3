// guardAddress: one check per address, shared by callers that ask while it still runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guardAddress } from '../../src/watch/guard.ts';

test('callers asking at the same time share one check; an address outside the lab passes', async () => {
  const first = guardAddress('127.0.0.1');
  const second = guardAddress('127.0.0.1');
  assert.is(first, second, 'the second caller waits for the same check');
  await first;
  assert.is(guardAddress('127.0.0.1'), first, 'and later callers too');
});

test.run();
