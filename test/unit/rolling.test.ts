import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { groupsOf, parsePercent, splitGroups } from '../../src/plan/rolling.ts';
import { ConfigError } from '../../src/errors.ts';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);

test('group sizes for 1 to 10 hosts at several percents', () => {
  const expected: Record<string, number[][]> = {
    '0.5': [
      [1],
      [1, 1],
      [1, 1, 1],
      [2, 2],
      [2, 2, 1],
      [3, 3],
      [3, 3, 1],
      [4, 4],
      [4, 4, 1],
      [5, 5],
    ],
    '0.25': [
      [1],
      [1, 1],
      [1, 1, 1],
      [1, 1, 1, 1],
      [1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 1],
      [2, 2, 2, 2],
      [2, 2, 2, 2, 1],
      [2, 2, 2, 2, 2],
    ],
    '0.34': [
      [1],
      [1, 1],
      [1, 1, 1],
      [1, 1, 1, 1],
      [1, 1, 1, 1, 1],
      [2, 2, 2],
      [2, 2, 2, 1],
      [2, 2, 2, 2],
      [3, 3, 3],
      [3, 3, 3, 1],
    ],
    '1': [[1], [2], [3], [4], [5], [6], [7], [8], [9], [10]],
  };
  for (const [pct, rows] of Object.entries(expected)) {
    rows.forEach((sizes, i) => {
      const groups = splitGroups(hosts(i + 1), Number(pct));
      assert.equal(
        groups.map((g) => g.length),
        sizes,
        `${i + 1} hosts at ${pct}`,
      );
      assert.equal(groups.flat(), hosts(i + 1), 'every host once, in order');
    });
  }
});

test('percent parsing: fractions, percentages, bad input', () => {
  assert.is(parsePercent('0.5'), 0.5);
  assert.is(parsePercent('50%'), 0.5);
  assert.is(parsePercent('34'), 0.34);
  assert.is(parsePercent('1'), 1);
  assert.is(parsePercent('100%'), 1);
  for (const bad of ['0', '-1', '150', 'abc', '', '0%'])
    assert.throws(
      () => parsePercent(bad),
      (e: unknown) => e instanceof ConfigError,
      bad,
    );
});

test('only the hosts with work are rolled, in groups sized on the whole fleet', () => {
  // 6 servers at 50 %: groups of 3, whichever hosts have something to change.
  assert.equal(groupsOf(['s2', 's5'], 6, 0.5), [['s2', 's5']]);
  assert.equal(groupsOf(['s1', 's2', 's4', 's6'], 6, 0.5), [['s1', 's2', 's4'], ['s6']]);
  assert.equal(groupsOf([], 6, 0.5), []);
  assert.equal(groupsOf(['s1', 's2'], 3, 0.34), [['s1'], ['s2']]);
});

test.run();
