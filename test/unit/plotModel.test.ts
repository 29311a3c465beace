// The Hint Inspector's plot data: numbers out of formatted cells, the band over threads, each
// thread's series of the chosen key, histograms, and what patches and samples do to them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KeyView, RowView } from '../../webview/src/messages';
import { PlotModel, extent, formatNumber, histogram, isNumericType, parseNumeric, summarize } from '../../webview/src/plotModel';
import { diffRows } from '../../webview/src/tableModel';

const key = (name: string, type: string, size = 4): KeyView => ({ name, size, offset: 0, type });
const row = (tid: number, ...cells: string[]): RowView => ({ tid, comm: 'w', cells });
const keys = [key('lat', 'u8', 1), key('blob', 'hex', 12), key('prio', 'i32'), key('req', 'struct req', 8)];
const nums = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isNaN(v) ? null : v));

test('only integer keys are plotted, and only cells that hold a number count', () => {
  assert.deepEqual(['u8', 'u16', 'i32', 'u64', 'hex', 'struct req', 'u128', ''].map(isNumericType), [true, true, true, true, false, false, false, false]);
  assert.equal(parseNumeric('42'), 42);
  assert.equal(parseNumeric('-7'), -7);
  assert.equal(parseNumeric('18446744073709551615'), 18446744073709551615);
  for (const t of ['0x0a0b', '{prio: 3, id: 7}', '', '1e3', ' 1', 'NaN']) assert.ok(Number.isNaN(parseNumeric(t)), t);
});

test('the summary over threads skips threads without a number and takes the lower median', () => {
  assert.deepEqual(summarize([5, NaN, 1, 9, 3]), { min: 1, median: 3, max: 9, count: 4 });
  assert.deepEqual(summarize([7]), { min: 7, median: 7, max: 7, count: 1 });
  assert.equal(summarize([NaN, NaN]), undefined);
  assert.equal(summarize([]), undefined);
  // Selection agrees with sorting on many values, duplicates included.
  const many = Array.from({ length: 10001 }, (_, i) => (i * 7919) % 1000);
  const sorted = [...many].sort((a, b) => a - b);
  assert.deepEqual(summarize(many), { min: 0, median: sorted[5000], max: 999, count: 10001 });
  assert.deepEqual(summarize(many, 3), { min: 0, median: 838, max: 919, count: 3 }, 'only the first 3: 0, 919, 838');
});

test('a histogram has one bin per value for a small range and wider bins for a large one', () => {
  assert.deepEqual(histogram([0, 1, 1, NaN, 1], 20), { lo: 0, width: 1, counts: [1, 3], total: 4 });
  assert.deepEqual(histogram([4, 4], 20), { lo: 4, width: 1, counts: [1 + 1], total: 2 });
  const wide = histogram([0, 99, 50, 10], 10);
  assert.deepEqual(wide, { lo: 0, width: 10, counts: [1, 1, 0, 0, 0, 1, 0, 0, 0, 1], total: 4 });
  const odd = histogram([-5, 5], 4); // 11 values in bins of 3: the last bin holds the maximum
  assert.deepEqual(odd, { lo: -5, width: 3, counts: [1, 0, 0, 1], total: 2 });
  assert.equal(histogram([NaN], 10), undefined);
});

test('the plot keeps the band of every numeric key and the chosen key of every thread over refreshes', () => {
  const m = new PlotModel(3);
  let rows = [row(10, '1', '0x00', '5', '{}'), row(11, '0', '0x01', '7', '{}'), row(12, '1', '0x02', '9', '{}')];
  m.reset(keys, rows);
  assert.equal(m.selected, 0, 'the first numeric key is chosen');
  assert.ok(m.isNumeric(2) && !m.isNumeric(1) && !m.isNumeric(3));
  assert.equal(m.length, 0);
  m.sample();
  // A refresh: thread 11 sets lat, 12 leaves and 13 comes.
  let next = [row(10, '1', '0x00', '5', '{}'), row(11, '1', '0x01', '8', '{}'), row(13, '0', '0x03', '100', '{}')];
  m.applyPatch(diffRows(rows, next));
  rows = next;
  m.sample();
  assert.equal(m.length, 2);
  assert.deepEqual(nums(m.series(11)), [0, 1]);
  assert.deepEqual(nums(m.series(13)), [null, 0], 'a thread that came has no value before');
  assert.deepEqual(nums(m.series(12)), [null, null], 'a thread that left is gone');
  assert.deepEqual(nums(m.series(99)), [null, null]);
  assert.deepEqual(nums(m.band(2).min), [5, 5]);
  assert.deepEqual(nums(m.band(2).median), [7, 8]);
  assert.deepEqual(nums(m.band(2).max), [9, 100]);
  assert.deepEqual(nums(m.band(1).median), [null, null], 'hex keys have no band');
  assert.equal(m.threads, 3);

  // Choosing another key: its band has the whole history, its threads' values start now.
  m.select(2);
  next = rows.map((r) => (r.tid === 10 ? row(10, '1', '0x00', '6', '{}') : r));
  m.applyPatch(diffRows(rows, next));
  rows = next;
  m.sample();
  m.sample();
  assert.equal(m.length, 3, 'the oldest refresh fell out');
  assert.deepEqual(nums(m.series(10)), [null, 6, 6]);
  assert.deepEqual(nums(m.band().median), [8, 8, 8]);
  assert.deepEqual(nums(m.band().max), [100, 100, 100]);
  assert.deepEqual(m.histogram(10), { lo: 6, width: 10, counts: [2, 0, 0, 0, 0, 0, 0, 0, 0, 1], total: 3 });
  assert.deepEqual(m.summary(), { min: 6, median: 8, max: 100, count: 3 });
  assert.deepEqual(m.histogram(10, 3), undefined, 'a struct key has no histogram');
});

test('a new thread in a left thread\'s slot does not inherit its history', () => {
  const m = new PlotModel(4);
  const a = [row(1, '5', '0x', '0', '{}'), row(2, '6', '0x', '0', '{}')];
  m.reset(keys, a);
  m.sample();
  const b = [row(1, '5', '0x', '0', '{}'), row(3, '9', '0x', '0', '{}')];
  m.applyPatch(diffRows(a, b));
  m.sample();
  assert.deepEqual(nums(m.series(3)), [null, 9]);
  assert.deepEqual(nums(m.series(1)), [5, 5]);
});

test('10,000 threads grow the columns and keep every value', () => {
  const m = new PlotModel(5);
  m.reset(keys, [row(1, '1', '0x', '1', '{}')]);
  const many = Array.from({ length: 10000 }, (_, i) => row(i + 1, String(i % 2), '0x', String(i), '{}'));
  m.applyPatch(diffRows([row(1, '1', '0x', '1', '{}')], many));
  m.select(2);
  m.sample();
  assert.equal(m.threads, 10000);
  assert.deepEqual(m.summary(), { min: 0, median: 4999, max: 9999, count: 10000 });
  assert.deepEqual(nums(m.series(10000)), [9999]);
  assert.deepEqual(m.histogram(20, 0)?.counts, [5000, 5000]);
});

test('the same keys after a reset keep the chosen key; axes never collapse', () => {
  const m = new PlotModel();
  m.reset(keys, []);
  m.select(2);
  m.reset(keys, [row(1, '1', '0x', '3', '{}')]);
  assert.equal(m.selected, 2);
  m.select(1);
  m.select(-1);
  m.select(9);
  assert.equal(m.selected, 2, 'a key without numbers, or none, is not chosen');
  m.reset([key('only', 'hex', 16)], []);
  assert.equal(m.selected, -1, 'no numeric key: nothing chosen');
  assert.deepEqual(extent([[3, NaN, 7], [1]]), { lo: 1, hi: 7 });
  assert.deepEqual(extent([[4]]), { lo: 3, hi: 5 });
  assert.deepEqual(extent([[NaN]]), { lo: 0, hi: 1 });
  assert.equal(formatNumber(12), '12');
  assert.equal(formatNumber(2.345678), '2.35');
  assert.equal(formatNumber(NaN), '–');
});
