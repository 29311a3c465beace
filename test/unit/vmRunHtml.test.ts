// The VM's last-run page: hinted and unhinted histograms drawn side by side, the TCG caveat,
// counters, and names from the guest escaped.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { histogramGroups, latencyText, vmRunBody } from '../../extension/src/views/vmRunHtml';
import { HistogramSummary } from '../../extension/src/vm/schedulerStats';

const hist = (count: number, buckets: [number, number][]): HistogramSummary => ({ count, p50_ns: 1000, p90_ns: 2000, p99_ns: 4_000_000, max_ns: 8_000_000, buckets });

test('lat_hinted and lat_unhinted make one group, hinted first; another histogram stands alone', () => {
  const g = histogramGroups({ lat_unhinted: hist(3, [[1024, 3]]), other: hist(1, [[1, 1]]), lat_hinted: hist(2, [[512, 2]]) });
  assert.deepEqual(g.map((x) => [x.title, x.series.map((s) => s.name)]), [
    ['lat: hinted beside unhinted', ['lat_hinted', 'lat_unhinted']],
    ['other', ['other']],
  ]);
});

test('the page draws a bar per bucket and series, shares of each series, with the TCG caveat under TCG only', () => {
  const stats = { seconds: 5, counters: { nr_enq_hi: 12 }, histograms: { lat_hinted: hist(4, [[1024, 4]]), lat_unhinted: hist(10, [[1024, 5], [4096, 5]]) } };
  const tcg = vmRunBody({ scheduler: 'scx_hints.bpf.c', message: 'stayed enabled', accel: 'tcg', endedAt: 0, stats });
  assert.match(tcg, /TCG: qemu emulated its CPUs/);
  assert.match(tcg, /<th>nr_enq_hi<\/th><td>12<\/td>/);
  // Two buckets x two series; hinted's one bucket holds all of it (full height), unhinted's half.
  assert.equal((tcg.match(/<rect /g) ?? []).length, 4);
  assert.match(tcg, /<rect class="s0" x="\d+" y="0" width="\d+" height="120"><title>lat_hinted: 4 of 4/);
  assert.match(tcg, /<rect class="s1" x="\d+" y="60" width="\d+" height="60"><title>lat_unhinted: 5 of 10/);
  assert.doesNotMatch(vmRunBody({ scheduler: 's', message: 'm', accel: 'kvm', endedAt: 0, stats }), /emulated/);
});

test('names and messages from the guest are escaped, and a run without statistics says so', () => {
  const page = vmRunBody({ scheduler: '<img src=x>.bpf.c', message: 'disabled "<b>"', endedAt: 0 });
  assert.doesNotMatch(page, /<img|<b>/);
  assert.match(page, /left no statistics/);
  assert.equal(latencyText(1500), '1.5 µs');
  assert.equal(latencyText(4_000_000), '4.00 ms');
});
