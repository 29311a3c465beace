// Grouping the Hint Inspector's threads by a hint's value: per group, the thread count and
// the p50/p99 (nearest rank) of a scheduling figure, with groups in the value's order.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { groupBy, percentile } from '../../webview/src/groupModel';
import { RowView } from '../../webview/src/messages';

const row = (tid: number, hint: string, wait: string): RowView => ({ tid, comm: 't', cells: [hint, '0', wait] });

test('percentile is the nearest rank: p50 of 1..4 is 2, p99 of 1..100 is 99, of one value that value, of none NaN', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('groupBy a hint gives each value its threads and the p50/p99 of their wait, in numeric order of the value', () => {
  const rows = [
    row(1, '1', '0.10'), row(2, '0', '5.00'), row(3, '1', '0.30'), row(4, '0', '9.00'),
    row(5, '10', ''), row(6, '0', '7.00'), row(7, '1', '0.20'),
  ];
  assert.deepEqual(groupBy(rows, 0, 2), [
    { value: '0', threads: 3, measured: 3, p50: 7, p99: 9 },
    { value: '1', threads: 3, measured: 3, p50: 0.2, p99: 0.3 },
    // A thread whose rate is not known yet (its first refresh) counts, without a figure.
    { value: '10', threads: 1, measured: 0, p50: NaN, p99: NaN },
  ]);
  assert.deepEqual(groupBy([], 0, 2), []);
  assert.deepEqual(groupBy([row(1, 'b', '1'), row(2, 'a', '2')], 0, 2).map((g) => g.value), ['a', 'b'], 'text values in text order');
});
