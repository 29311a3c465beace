// npm run bench's results: sections run into one document saved after each, a failed section
// recorded and passed by, and the README's table made from the document with every figure.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { boundFigure, ratioFigure } from '../../bench/figure';
import { BEGIN, END, benchTable, withTable } from '../../bench/readme';
import { BenchResults, readResults, runSections } from '../../bench/results';

function emptyDoc(): BenchResults {
  return {
    kernel: '6.18.0', cpus: 2, cpu: 'test cpu', quick: false, started: '2026-11-29T19:00:00.000Z', finished: null,
    load_average_start: 9.5, load_average_end: null, libbpf: null, sections: {}, figures: [], failed: [], goals_missed: 0, all_goals_met: false,
  };
}

test('a figure against its floor is met only within its ratio, and an absolute one by its bound', () => {
  const ok = ratioFigure('snapshot in Node', 1.4, 'ms', 'the same in C', 1, 1.5);
  assert.equal(ok.against?.ratio, 1.4);
  assert.equal(ok.met, true);
  assert.equal(ratioFigure('snapshot in Node', 1.6, 'ms', 'the same in C', 1, 1.5).met, false);
  assert.equal(ratioFigure('no floor measured', 1, 'ms', 'a floor of 0', 0, 1.5).met, false, 'an infinite ratio is no success');
  const b = boundFigure('p99 frame', 40, 'ms', 'under 33 ms', false, { note: 'p95 20 ms' });
  assert.deepEqual([b.met, b.goal, b.note, b.against], [false, 'under 33 ms', 'p95 20 ms', undefined]);
});

test('a section that throws is named, counted and passed by; every section is saved as it completes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-bench-results-'));
  try {
    const out = path.join(dir, 'results.json');
    const doc = emptyDoc();
    const saved: number[] = [];
    const failed = await runSections([
      { name: 'first', run: async () => ({ raw: { a: 1 }, figures: [boundFigure('one', 1, 'ms', 'under 2 ms', true)] }) },
      {
        name: 'broken',
        run: async () => {
          // What the first section found is on disk before the next one runs.
          saved.push(readResults(out).figures.length);
          throw new Error('the Hint Inspector did not open');
        },
      },
      { name: 'last', run: async () => ({ raw: {}, figures: [ratioFigure('two', 3, 'ns', 'floor', 1, 1.5)] }) },
    ], doc, { quick: false, out, log: () => undefined });
    assert.equal(failed, 1);
    assert.deepEqual(saved, [1]);
    const onDisk = readResults(out);
    assert.deepEqual(onDisk.failed, ['broken']);
    assert.deepEqual(onDisk.sections.broken, { ok: false, seconds: onDisk.sections.broken!.seconds, error: 'the Hint Inspector did not open' });
    assert.deepEqual(onDisk.figures.map((f) => f.name), ['one', 'two'], 'the section after the failed one ran');
    assert.equal(onDisk.goals_missed, 1);
    assert.equal(onDisk.all_goals_met, false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the README's table shows every figure with its goal, the misses and the failed sections, between its markers only", () => {
  const doc = emptyDoc();
  doc.figures.push(
    ratioFigure('snapshot | in Node', 2_500_000, 'ns', 'the same in C', 1_000_000, 1.5),
    boundFigure('event-loop delay p99', 8.9, 'ms', 'under 10 ms', true, { note: 'max 30 ms' }),
  );
  (doc.sections as Record<string, BenchResults['sections'][string]>).inspector = { ok: false, seconds: 3, error: 'the Hint Inspector did not open\nstack' };
  doc.failed.push('inspector');
  doc.goals_missed = 1;
  const table = benchTable(doc);
  const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| what') && !l.startsWith('| ---'));
  assert.equal(rows.length, 3);
  assert.equal(rows[0], '| snapshot \\| in Node | 2.5 ms | the same in C: 1 ms, 2.5x | at most 1.5x | **missed** |');
  assert.equal(rows[1], '| event-loop delay p99 | 8.9 ms (max 30 ms) |  | under 10 ms | met |');
  assert.match(rows[2]!, /^\| section `inspector` \| did not complete: the Hint Inspector did not open \|.*\*\*failed\*\* \|$/);
  assert.match(table, /load average 9\.5/);
  assert.match(table, /1 goal\(s\) missed, 1 section\(s\) failed \(inspector\)/);

  const readme = `# Title\n\nbefore\n\n${BEGIN}\nold table\n${END}\n\nafter\n`;
  const next = withTable(readme, table);
  assert.equal(next, `# Title\n\nbefore\n\n${table}\n\nafter\n`);
  assert.equal(withTable(next, table), next, 'made again from the same results, nothing changes');
  assert.throws(() => withTable('# no markers\n', table), /no bench-table markers/);
});
