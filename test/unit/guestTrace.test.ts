// tld-snapshot --trace's console lines gathered into a recording: samples and events typed and
// checked, other console lines left to the screen, cut lines counted and skipped.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { GuestTraceCollector, tracedWorkload } from '../../extension/src/vm/guestTrace';

test('a guest trace takes its own lines only, skips cut ones, and gives the process, samples and events on one clock', () => {
  const c = new GuestTraceCollector();
  assert.equal(c.take('tld-scx-run: 1 s: nr_enq_hi 3'), false, 'the loader\'s lines stay on the screen');
  const lines = [
    '{"round":0,"pid":7,"tid":7,"comm":"app","values":{},"sched":{"now":1000,"cpu":0}}',
    '{"round":0,"pid":7,"tid":8,"comm":"worker","values":{"sched.latency_critical":1},"sched":{"now":1001,"cpu":1}}',
    '{"ev":"wakeup","ts":"990","tid":8,"cpu":1,"waker":7,"state":0,"dsqId":"1"}',
    '{"ev":"on-cpu","ts":"995","tid":8,"cpu":1,"waker":0,"state":0}',
    '{"ev":"off-cpu","ts":"1200","tid":9,"cpu":0,"waker":0,"state":1}',
    '{"ev":"on-cpu","ts":"12', // cut by another line on the console
    '{"ev":"teleport","ts":"5","tid":8,"cpu":0}',
    '{"traceEnd":true,"lost":2}',
  ];
  for (const l of lines) assert.equal(c.take(l), true, l);
  assert.equal(c.skipped, 2);
  const t = c.result();
  assert.ok(t);
  assert.equal(t.pid, 7);
  assert.equal(t.comm, 'app');
  assert.deepEqual([...t.threads], [[7, 'app'], [8, 'worker'], [9, '']]);
  assert.deepEqual(t.samples, [
    { ts: 1000n, tid: 7, values: [] },
    { ts: 1001n, tid: 8, values: [['sched.latency_critical', 1n]] },
  ]);
  assert.deepEqual(t.events[0], { kind: 'wakeup', ts: 990n, tid: 8, cpu: 1, waker: 7, dsqId: 1n });
  assert.equal(t.start, 990n);
  assert.equal(t.end, 1200n);
  assert.equal(t.lost, 2);
  assert.equal(new GuestTraceCollector().result(), undefined, 'nothing arrived: no trace');
});

test('the traced workload runs the workload in the background and tld-snapshot for the whole run', () => {
  assert.equal(tracedWorkload('tld-demo --threads 4', 2), '(tld-demo --threads 4) & sleep 1; tld-snapshot --trace --count 100 --interval-ms 20; wait');
});
