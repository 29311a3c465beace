// tld-latency's report line, as the bench and the VM tests read it from a guest's console.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseLatencyReport } from '../../extension/src/vm/latencyReport';

const cls = (n: number, missed: number): string =>
  `{"n":${n},"missed":${missed},"p50_us":25.0,"p90_us":210.0,"p99_us":310.0,"max_us":2100.0,"hist":[[0,${n - missed - 2}],[200,1],[300,1],[2000,${missed}]]}`;
const line = `tld-latency: {"hogs":4,"sleepers":2,"period_us":2000,"seconds":4,"hinted":${cls(4000, 3)},"unhinted":${cls(3990, 40)}}`;

test("the report's classes, missed periods and histogram buckets are read back", () => {
  const r = parseLatencyReport(['[    1.0] boot', line, 'TLD-VM-EXIT 0']);
  assert.ok(r);
  assert.equal(r.hogs, 4);
  assert.equal(r.hinted.missed, 3);
  assert.equal(r.unhinted.n, 3990);
  assert.deepEqual(r.hinted.hist.slice(1, 3), [[200, 1], [300, 1]]);
});

test('a truncated or malformed report is no report', () => {
  assert.equal(parseLatencyReport([line.slice(0, -20)]), undefined);
  assert.equal(parseLatencyReport([line.replace('"missed":3,', '')]), undefined);
  assert.equal(parseLatencyReport([line.replace('[[0,', '[[-50,')]), undefined);
  assert.equal(parseLatencyReport(['tld-latency: usage']), undefined);
});
