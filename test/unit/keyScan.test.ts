// The static checks of key use in sources, on small made-up files.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkKeys, scanSource, sizeOf } from '../../extension/src/analysis/keyScan';

test('sizes are read from literals and sizeof of known types only', () => {
  assert.equal(sizeOf('8'), 8);
  assert.equal(sizeOf('0x10'), 16);
  assert.equal(sizeOf('sizeof(__u64)'), 8);
  assert.equal(sizeOf('sizeof( unsigned  int )'), 4);
  assert.equal(sizeOf('sizeof(struct req)'), undefined);
  assert.equal(sizeOf('n * 2'), undefined);
});

test('definitions, adds, C++ variables and BPF lookups are found at their lines', () => {
  const src = [
    '#include <tld.h>',
    'TLD_DEFINE_KEY(prio, "sched.prio", sizeof(int));',
    'void f(void) { tld_off_t k = tld_add_key_def("app.flag", 1); }',
    'static tld::variable<uint32_t> w("sched.weight");',
    'u8 *p = tld_lookup(task, &ctx->lat, "sched.latency_critical", sizeof(u8));',
    'u64 *q = tld_lookup_cached(next, 0, "app.flag", 8);',
  ].join('\n');
  const uses = scanSource('a.c', src);
  assert.deepEqual(uses.map((u) => [u.kind, u.name, u.size, u.line]), [
    ['define', 'sched.prio', 4, 2],
    ['add', 'app.flag', 1, 3],
    ['variable', 'sched.weight', 4, 4],
    ['lookup', 'sched.latency_critical', 1, 5],
    ['lookup', 'app.flag', 8, 6],
  ]);
  assert.equal(uses[0]?.column, 22); // the opening quote of "sched.prio"
});

test('the checks find long names, conflicting sizes, too many keys, a full page and oversized lookups', () => {
  const long = 'k'.repeat(62);
  const a = scanSource('a.c', `TLD_DEFINE_KEY(a, "${long}", 4);\nTLD_DEFINE_KEY(b, "shared", 4);\nu64 *x = tld_lookup(t, &c, "shared", 8);`);
  const b = scanSource('b.c', 'tld_off_t k = tld_add_key_def("shared", 8);');
  const messages = checkKeys([...a, ...b]).map((p) => `${p.use.file}:${p.use.line} ${p.message}`);
  assert.ok(messages.some((m) => m.startsWith('a.c:1 ') && /has 62 bytes; the layout allows 61/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('a.c:2 ') && /defined with 4 bytes here and 8 at b.c:1/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('a.c:3 ') && /looked up as 8 bytes but defined with 4/.test(m)), messages.join('\n'));
  const many = scanSource('m.c', Array.from({ length: 64 }, (_, i) => `TLD_DEFINE_KEY(k${i}, "k${i}", 1);`).join('\n'));
  assert.ok(checkKeys(many).some((p) => p.use.name === 'k63' && /table holds 63/.test(p.message)));
  const big = scanSource('g.c', 'TLD_DEFINE_KEY(a, "a", 4000);\nTLD_DEFINE_KEY(b, "b", 100);');
  assert.ok(checkKeys(big).some((p) => p.use.name === 'b' && /holds 4088/.test(p.message)));
  assert.deepEqual(checkKeys(scanSource('ok.c', 'TLD_DEFINE_KEY(a, "a", 4);')), []);
});
