// The Hint Inspector's pure parts: message validation, layout drawing data, table patches.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { layoutOf } from '../../webview/src/layoutModel';
import { HostToWebview, parseHostMessage, parseWebviewMessage } from '../../webview/src/messages';
import { diffRows, isEmptyPatch, toCsv } from '../../webview/src/tableModel';
import { inspectorHtml } from '../../extension/src/inspector/page';
import { formatValue, typeLabel } from '../../extension/src/inspector/views';

test('the host accepts only well-formed webview messages', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseWebviewMessage({ type: 'setValue', tid: 12, key: 'sched.weight', value: '7' }), { type: 'setValue', tid: 12, key: 'sched.weight', value: '7' });
  assert.deepEqual(parseWebviewMessage({ type: 'export', format: 'csv' }), { type: 'export', format: 'csv' });
  for (const bad of [
    null, 'ready', 42, {}, { type: 'nope' }, { type: 'pause' }, { type: 'pause', paused: 'yes' },
    { type: 'setValue', tid: -1, key: 'k', value: '1' }, { type: 'setValue', tid: 1.5, key: 'k', value: '1' },
    { type: 'setValue', tid: 1, key: '', value: '1' }, { type: 'setValue', tid: 1, key: 'x'.repeat(62), value: '1' },
    { type: 'setValue', tid: 1, key: 'k', value: 1 }, { type: 'export', format: 'xml' },
  ]) {
    assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
  }
});

test('the webview accepts only well-formed host messages', () => {
  const layout = layoutOf([{ name: 'a', size: 1, offset: 0 }]);
  const snap = { type: 'snapshot', pid: 1, comm: 'x', keys: [{ name: 'a', size: 1, offset: 0, type: 'u8' }], columns: ['cpu'], layout, rows: [{ tid: 2, comm: 'x', cells: ['1', '0'] }], threads: 3 };
  assert.deepEqual(parseHostMessage(snap), snap);
  assert.equal(parseHostMessage({ ...snap, columns: undefined }), undefined, 'the scheduling columns are named');
  assert.equal(parseHostMessage({ ...snap, columns: [3] }), undefined);
  assert.equal(parseHostMessage({ ...snap, rows: [{ tid: 2, comm: 'x', cells: [1] }] }), undefined);
  assert.equal(parseHostMessage({ ...snap, layout: { ...layout, segments: [{ name: 'a' }] } }), undefined);
  const cells = { tids: [2], cols: [0], texts: ['5'] };
  assert.deepEqual(parseHostMessage({ type: 'patch', cells, added: [], removed: [3] }), { type: 'patch', cells, added: [], removed: [3] });
  for (const bad of [[[2, 0, '5']], { tids: [2], cols: [0] }, { tids: [2], cols: [0, 1], texts: ['5'] }, { tids: [2.5], cols: [0], texts: ['5'] }, { tids: [2], cols: [0], texts: [5] }]) {
    assert.equal(parseHostMessage({ type: 'patch', cells: bad, added: [], removed: [] }), undefined, JSON.stringify(bad));
  }
  assert.equal(parseHostMessage({ type: 'exited' }), undefined);
  assert.equal(parseHostMessage('<script>'), undefined);
});

test('the layout shows each value, its padding to 8 bytes, the fill and the next offset', () => {
  const l = layoutOf([
    { name: 'lat', size: 1, offset: 0 },
    { name: 'req', size: 12, offset: 8 },
    { name: 'w', size: 4, offset: 24 },
  ]);
  assert.deepEqual(l.segments, [
    { name: 'lat', offset: 0, size: 1, padding: 7 },
    { name: 'req', offset: 8, size: 12, padding: 4 },
    { name: 'w', offset: 24, size: 4, padding: 4 },
  ]);
  assert.equal(l.used, 32);
  assert.equal(l.nextOffset, 32);
  assert.equal(l.capacity, 4088);
  assert.equal(l.entries, 3);
  assert.equal(l.maxEntries, 63);
  assert.equal(layoutOf([]).used, 0);
});

test('a refresh patches only the cells that changed, and the threads that came and went', () => {
  const before = [
    { tid: 1, comm: 'a', cells: ['1', '2'] },
    { tid: 2, comm: 'a', cells: ['3', '4'] },
  ];
  const after = [
    { tid: 1, comm: 'a', cells: ['1', '9'] },
    { tid: 3, comm: 'a', cells: ['5', '6'] },
  ];
  const p = diffRows(before, after);
  assert.deepEqual(p.cells, { tids: [1], cols: [1], texts: ['9'] });
  assert.deepEqual(p.added, [{ tid: 3, comm: 'a', cells: ['5', '6'] }]);
  assert.deepEqual(p.removed, [2]);
  assert.ok(isEmptyPatch(diffRows(after, after)));
  // 10,000 threads with one change: the patch carries one cell, not the table.
  const many = Array.from({ length: 10000 }, (_, i) => ({ tid: i + 1, comm: 'w', cells: Array.from({ length: 16 }, (__, k) => String(i * k)) }));
  const changed = many.map((r) => (r.tid === 5000 ? { ...r, cells: r.cells.map((c, k) => (k === 3 ? 'x' : c)) } : r));
  const small = diffRows(many, changed);
  assert.deepEqual(small.cells, { tids: [5000], cols: [3], texts: ['x'] });
  assert.ok(JSON.stringify(small).length < 100);
  // The same threads in another order, one of them changed: no thread came or went.
  const moved = diffRows(before, [{ tid: 2, comm: 'a', cells: ['3', '7'] }, before[0]!]);
  assert.deepEqual(moved, { type: 'patch', cells: { tids: [2], cols: [1], texts: ['7'] }, added: [], removed: [] });
  // One thread went and another came at its index: both are told.
  const swapped = diffRows(before, [before[0]!, { tid: 4, comm: 'b', cells: ['0', '0'] }]);
  assert.deepEqual([swapped.added.map((r) => r.tid), swapped.removed], [[4], [2]]);
});

test('CSV export quotes what needs quoting', () => {
  assert.equal(toCsv(['a', 'b,c'], [{ tid: 1, comm: 'x"y', cells: ['1', '{p: 1, q: 2}'] }]), 'tid,comm,a,"b,c"\n1,"x""y",1,"{p: 1, q: 2}"\n');
});

test('values and types are labelled as the inspector shows them', () => {
  assert.equal(typeLabel({ kind: 'int', size: 4, signed: true }), 'i32');
  assert.equal(typeLabel({ kind: 'hex', size: 12 }), 'hex');
  assert.equal(typeLabel({ kind: 'struct', name: 'req', size: 8, fields: [] }), 'struct req');
  assert.equal(formatValue({ prio: 3, id: 7n }), '{prio: 3, id: 7}');
});

test('the page carries the table it opens with as JSON no text of the process can end early, and the webview reads it back', () => {
  const hostile = '</script><script>alert(1)</script><!--';
  const initial: HostToWebview[] = [
    { type: 'snapshot', pid: 7, comm: hostile, keys: [{ name: 'k', size: 1, offset: 0, type: 'u8' }], columns: [], layout: layoutOf([{ name: 'k', size: 1, offset: 0 }]), rows: [{ tid: 7, comm: hostile, cells: ['1'] }], threads: 1 },
    { type: 'status', paused: false, intervalMs: 500 },
  ];
  const html = inspectorHtml({ cspSource: 'vscode-webview:', nonce: 'n0nce', code: { scriptUri: 'webview.js', styleUri: 'inspector.css' }, pid: 7, initial });
  const json = /<script type="application\/json" id="tld-initial">([^<]*)<\/script>/.exec(html)?.[1];
  assert.ok(json, 'the table is in the page, in one script element');
  assert.equal(html.match(/<script/g)?.length, 2, 'and the page has no other script than its bundle');
  assert.deepEqual((JSON.parse(json) as unknown[]).map(parseHostMessage), initial);
  assert.doesNotMatch(inspectorHtml({ cspSource: 'c', nonce: 'n', code: { scriptUri: 's', styleUri: 't' }, pid: 7 }), /tld-initial/, 'no table: no element');
});
