// tldctl watch's refresh settles: once optimized, no step of it is thrown back to the
// interpreter. Its text used to be made in one large function whose rows changed shape after
// they were made; the optimized code was dropped ("wrong map") and compiled again, 50-80 ms of a
// core each time, every few seconds of a 10 Hz watch.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

import { SnapshotTexts } from '../../extension/src/cli/format';

/** The functions of format.ts a refresh runs: SnapshotTexts' methods and the helpers they call. */
const REFRESH_FUNCTIONS = new Set([
  ...Object.getOwnPropertyNames(SnapshotTexts.prototype).filter((n) => n !== 'constructor'),
  'padded', 'sameBytesAt', 'sameRows', 'sameTail', 'schedCells', 'show', 'shownThreads',
]);
const SETTLED = 40;

test('a watch\'s refresh, once optimized, is not deoptimized again', () => {
  const program = path.join(__dirname, 'programs', 'watchRefreshes.js');
  const run = spawnSync(process.execPath, ['--trace-opt', '--trace-deopt', program, '200'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, run.stderr);
  let refresh = -1;
  const late: string[] = [];
  const optimized = new Set<string>();
  for (const line of run.stdout.split('\n')) {
    const r = /^refresh (\d+)$/.exec(line);
    if (r) {
      refresh = Number(r[1]);
      continue;
    }
    const done = /^\[completed optimizing .*<JSFunction (\S+) /.exec(line);
    if (done && REFRESH_FUNCTIONS.has(done[1]!)) optimized.add(done[1]!);
    const bailout = /^\[bailout \(kind: [^,]+, reason: ([^)]*)\).*<JSFunction (\S+) /.exec(line);
    if (bailout && REFRESH_FUNCTIONS.has(bailout[2]!) && refresh >= SETTLED) late.push(`${bailout[2]} at refresh ${refresh}: ${bailout[1]}`);
  }
  assert.equal(refresh, 199, 'every refresh ran');
  // The trace must have seen the refresh at all, or the check below proves nothing.
  assert.ok(optimized.has('rowsOf'), `the loop over the rows was never optimized (optimized: ${[...optimized].join(', ')})`);
  assert.deepEqual(late, []);
});
