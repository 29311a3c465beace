// parseVerifierLog against real verifier logs and minimal synthetic ones.
//
// The fixtures in fixtures/verifier/ were captured on Linux 6.18 from the deliberately wrong
// programs saved beside them as NAME.bpf.c.txt (line numbers below are those files' lines),
// built with `clang-19 -g -O2 -target bpf -D__TARGET_ARCH_x86` against bpf/include,
// native/include and bpf/build/vmlinux.h. NAME.log is the raw log_level 1 log, as a log buffer
// of our own receives it (bpf_program__set_log_buf, like the helper); null_map_value.log and
// header_task.bpftool-d.log are `bpftool prog load` and `bpftool -d prog load` output, with
// libbpf's "-- BEGIN PROG LOAD LOG --" wrapper around the log. loop_too_large.log came from an
// 8 KiB buffer: the kernel kept the log's tail, so its first line starts mid-line.
// inlined_null, bpf_prog_null, merged_null, merged_twins, task_scalar and subprog_second were captured the
// same way with tldctl load (the default flags now add -mcpu=v3); their sources are also
// test/integration/bpf/NAME.bpf.c, where bpfLoad.test.ts loads them on the running kernel.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { VerifierError, parseVerifierLog } from '../../extension/src/client/verifierLog';

// This file runs from out/test/unit/; the fixtures stay in the sources.
const fixtures = path.resolve(__dirname, '..', '..', '..', 'test', 'unit', 'fixtures', 'verifier');
const fixture = (name: string): string => fs.readFileSync(path.join(fixtures, name), 'utf8');

function parsed(log: string, program = 'prog'): VerifierError {
  const v = parseVerifierLog(log, program);
  assert.ok(v, 'no error found in the log');
  return v;
}

interface Expected {
  readonly file?: string;
  readonly line?: number;
  readonly sourceText?: string;
  readonly insn?: number;
  readonly insnText?: string;
  readonly message: string;
  readonly register?: string;
  readonly processedInsns?: number;
}

function check(v: VerifierError, e: Expected): void {
  assert.equal(v.file, e.file);
  assert.equal(v.line, e.line);
  if (e.sourceText !== undefined) assert.equal(v.sourceText, e.sourceText);
  assert.equal(v.insn, e.insn);
  if (e.insnText !== undefined) assert.equal(v.insnText, e.insnText);
  assert.equal(v.message, e.message);
  if (e.register !== undefined) assert.match(v.summary, new RegExp(`\\b${e.register}\\b`), v.summary);
  assert.equal(v.truncated, false);
  assert.equal(v.processedInsns, e.processedInsns);
  assert.doesNotMatch(v.summary, /^The verifier rejected this instruction/, 'fell back to the generic sentence');
}

// ---- real logs --------------------------------------------------------------------------

test('a NULL map value dereference, in bpftool output with libbpf\'s wrapper', () => {
  const v = parsed(fixture('null_map_value.log'), 'count_getpid');
  assert.equal(v.program, 'count_getpid');
  check(v, {
    file: 'null_map_value.bpf.c',
    line: 28,
    sourceText: 'seen = c->hits;',
    insn: 7,
    insnText: '(79) r1 = *(u64 *)(r0 +0)',
    message: "R0 invalid mem access 'map_value_or_null'",
    register: 'R0',
    processedInsns: 7,
  });
  assert.equal(
    v.summary,
    'R0 may be NULL here (the result of a map lookup or helper that can fail): check it against NULL before reading through it.',
  );
});

test('a scalar dereference: a number read from a map value used as a pointer', () => {
  const v = parsed(fixture('scalar_deref.log'));
  check(v, {
    file: 'scalar_deref.bpf.c',
    line: 29,
    sourceText: 'seen = *(__u64 *)s->addr;',
    insn: 9,
    insnText: '(79) r1 = *(u64 *)(r1 +0)',
    message: "R1 invalid mem access 'scalar'",
    register: 'R1',
    processedInsns: 9,
  });
  assert.equal(
    v.summary,
    'R1 is a plain number here, not a pointer the verifier can check: make sure it holds a pointer (it was read from a map value: a uptr field whose struct is only forward-declared becomes a number; define the struct in full).',
  );
});

test('the uptr pitfall: a uptr to a forward-declared struct is a number to the verifier', () => {
  const v = parsed(fixture('uptr_forward.log'), 'on_switch');
  check(v, {
    file: 'uptr_forward.bpf.c',
    line: 37,
    sourceText: 'seen += *(__u64 *)v->page;',
    insn: 9,
    message: "R1 invalid mem access 'scalar'",
    register: 'R1',
    processedInsns: 9,
  });
  assert.match(v.summary, /uptr field whose struct is only forward-declared/);
});

test('an out-of-bounds map value access: offset, size and value size in the sentence', () => {
  const v = parsed(fixture('map_value_oob.log'));
  check(v, {
    file: 'map_value_oob.bpf.c',
    line: 30,
    sourceText: 'seen = (&p->b)[1];',
    insn: 8,
    insnText: '(79) r1 = *(u64 *)(r0 +16)',
    // The first of the kernel's two lines ("R0 min value is outside ..." follows it).
    message: 'invalid access to map value, value_size=16 off=16 size=8',
    register: 'R0',
    processedInsns: 8,
  });
  assert.match(v.summary, /map value of 16 bytes/);
  assert.match(v.summary, /8 bytes at offset 16/);
  assert.match(v.summary, /bounds check the verifier can see/);
});

test('a variable offset with a possibly negative index into a map value', () => {
  const v = parsed(fixture('negative_index.log'));
  check(v, {
    file: 'negative_index.bpf.c',
    line: 31,
    sourceText: 'seen = t->slot[idx];',
    insn: 14,
    insnText: '(0f) r6 += r0',
    message: 'math between map_value pointer and register with unbounded min value is not allowed',
    register: 'R0',
    processedInsns: 14,
  });
  assert.match(v.summary, /negative/);
  assert.match(v.summary, /unsigned/);
  assert.match(v.summary, /\bR6\b/);
});

test('a possibly negative size passed to a helper', () => {
  const v = parsed(fixture('helper_size.log'));
  check(v, {
    file: 'helper_size.bpf.c',
    line: 16,
    sourceText: 'bpf_probe_read_kernel(buf, len, ctx);',
    insn: 9,
    insnText: '(85) call bpf_probe_read_kernel#113',
    message: "R2 min value is negative, either use unsigned or 'var &= const'",
    register: 'R2',
    processedInsns: 9,
  });
  assert.match(v.summary, /unsigned/);
});

// At capture time tld.bpf.h:139 read `v = bpf_task_storage_get(&tld_data_map, task, 0, 0);`,
// inside tld_key_init(), which header_task.bpf.c.txt calls on its line 16.
test('an error inside a function from an included header names the header and its line', () => {
  const expected: Expected = {
    file: 'tld.bpf.h',
    line: 139,
    sourceText: 'v = bpf_task_storage_get(&tld_data_map, task, 0, 0);',
    insn: 10,
    insnText: '(85) call bpf_task_storage_get#156',
    message: 'R2 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_',
    register: 'R2',
    processedInsns: 9,
  };
  const raw = parsed(fixture('header_task.log'), 'init_key');
  check(raw, expected);
  assert.match(raw.summary, /bpf_get_current_task_btf\(\)/);
  // The same failure through `bpftool -d`: libbpf's debug lines, the liveness table, the
  // statistics between the error and "processed".
  const debug = parsed(fixture('header_task.bpftool-d.log'), 'init_key');
  check(debug, expected);
  assert.deepEqual(debug, raw);
});

test('reading past a task local data hint: memory size, offset and the register from the second line', () => {
  const v = parsed(fixture('hint_past_end.log'), 'on_switch');
  check(v, {
    file: 'hint_past_end.bpf.c',
    line: 21,
    sourceText: 'seen += *(__u64 *)hint;',
    insn: 38,
    insnText: '(79) r1 = *(u64 *)(r7 +0)',
    message: 'invalid access to memory, mem_size=4096 off=4095 size=8',
    register: 'R7',
    processedInsns: 90,
  });
  assert.match(v.summary, /4096 bytes/);
  assert.match(v.summary, /8 bytes at offset 4095/);
  assert.match(v.summary, /bounds check/);
});

test('a NULL dereference in a function of its own (frame1 states, caller/callee lines)', () => {
  const v = parsed(fixture('subprog_null.log'), 'sum');
  check(v, {
    file: 'subprog_null.bpf.c',
    line: 21,
    sourceText: 'return *t;',
    insn: 16,
    insnText: '(79) r0 = *(u64 *)(r0 +0)',
    message: "R0 invalid mem access 'map_value_or_null'",
    register: 'R0',
    processedInsns: 9,
  });
});

test('an unreleased reference names where the object was acquired', () => {
  const v = parsed(fixture('unreleased_ref.log'), 'send_event');
  check(v, {
    file: 'unreleased_ref.bpf.c',
    line: 21,
    insn: 15,
    insnText: '(95) exit',
    message: 'Unreleased reference id=2 alloc_insn=4',
    processedInsns: 17,
  });
  assert.match(v.summary, /acquired at unreleased_ref\.bpf\.c:15 \(bpf_ringbuf_reserve\)/);
  assert.match(v.summary, /released on every path/);
});

test('a helper the program type may not call', () => {
  const v = parsed(fixture('helper_not_allowed.log'), 'filter');
  check(v, {
    file: 'helper_not_allowed.bpf.c',
    line: 15,
    insn: 8,
    insnText: '(85) call bpf_probe_write_user#36',
    message: 'program of this type cannot use helper bpf_probe_write_user#36',
    processedInsns: 8,
  });
  assert.match(v.summary, /This program type cannot call bpf_probe_write_user/);
});

test('a program too large to verify, from a log whose head the kernel dropped', () => {
  const log = fixture('loop_too_large.log');
  assert.ok(!/^\d+: |^;/.test(log), 'the fixture should start mid-line');
  const v = parsed(log, 'spin');
  check(v, {
    file: 'loop_too_large.bpf.c',
    line: 15,
    insn: 7,
    insnText: '(bf) r0 = r1',
    message: 'BPF program is too large. Processed 1000001 insn',
    processedInsns: 1000001,
  });
  assert.match(v.summary, /bpf_loop\(\)/);
  assert.match(v.summary, /smaller functions/);
});

test('a failed CO-RE relocation, as libbpf rewrites it into the log', () => {
  const v = parsed(fixture('core_missing_field.log'), 'on_switch');
  check(v, {
    file: 'core_missing_field.bpf.c',
    line: 17,
    insn: 1,
    insnText: '<invalid CO-RE relocation>',
    message: 'failed to resolve CO-RE relocation <byte_off> [7] struct task_struct___old.no_such_field (0:0 @ offset 0)',
    processedInsns: 2,
  });
  assert.match(v.summary, /no struct task_struct___old\.no_such_field/);
  assert.match(v.summary, /bpf_core_field_exists\(\)/);
});

test('a program that loads: no error', () => {
  assert.equal(parseVerifierLog(fixture('ok.log'), 'count'), undefined);
});

test('Windows line endings change nothing', () => {
  const log = fixture('null_map_value.log');
  assert.deepEqual(parsed(log.replace(/\n/g, '\r\n')), parsed(log));
});

// ---- logs cut short ---------------------------------------------------------------------

test('a log cut after the error, before "processed": truncated, the error still found', () => {
  const log = fixture('hint_past_end.log').replace(/^processed .*$/m, '');
  const v = parsed(log);
  assert.equal(v.truncated, true);
  assert.equal(v.processedInsns, undefined);
  assert.equal(v.message, 'invalid access to memory, mem_size=4096 off=4095 size=8');
  assert.equal(v.file, 'hint_past_end.bpf.c');
  assert.equal(v.line, 21);
  assert.equal(v.insn, 38);
});

test('a log cut in the middle of the walk: truncated, at the last instruction checked', () => {
  const lines = fixture('hint_past_end.log').split('\n');
  const cut = lines.findIndex((l) => l.startsWith('37: ('));
  assert.ok(cut > 0);
  const v = parsed(lines.slice(0, cut + 1).join('\n'));
  assert.equal(v.truncated, true);
  assert.equal(v.processedInsns, undefined);
  assert.equal(v.insn, 37);
  assert.equal(v.insnText, '(0f) r7 += r0');
  assert.equal(v.file, 'hint_past_end.bpf.c');
  assert.equal(v.line, 16);
  assert.match(v.registers ?? '', /^R0=scalar/);
  assert.match(v.summary, /cut short/);
});

test('a wrapped log cut short: no END marker, libbpf and bpftool lines after it', () => {
  const full = fixture('null_map_value.log').split('\n');
  const at = full.findIndex((l) => l.startsWith('processed '));
  const log = [...full.slice(0, at), 'libbpf: prog \'count_getpid\': failed to load: -28', 'Error: failed to load object file'].join('\n');
  const v = parsed(log);
  assert.equal(v.truncated, true);
  assert.equal(v.message, "R0 invalid mem access 'map_value_or_null'");
  assert.equal(v.line, 28);
});

// ---- synthetic logs for the rarer messages ----------------------------------------------

const PROCESSED = 'processed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0';

test('no error: an empty log, a log of noise, a level 2 walk that ends in exit', () => {
  assert.equal(parseVerifierLog('', 'p'), undefined);
  assert.equal(parseVerifierLog('\n\n', 'p'), undefined);
  assert.equal(parseVerifierLog("arg#0 reference type('UNKNOWN ') size cannot be determined: -22\n" + PROCESSED + '\n', 'p'), undefined);
  const walk = [
    'func#0 @0',
    '0: R1=ctx() R10=fp0',
    '; return 0; @ ok.bpf.c:9',
    '0: (b7) r0 = 0                        ; R0=0',
    '1: (95) exit',
    'verification time 12 usec',
    'stack depth 0',
    PROCESSED,
  ].join('\n');
  assert.equal(parseVerifierLog(walk, 'p'), undefined);
});

test('R3 !read_ok: the register, and the state printed for the failing instruction', () => {
  const v = parsed([
    '0: R1=ctx() R10=fp0',
    '; return x; @ s.bpf.c:5',
    '0: (bf) r0 = r3',
    'R3 !read_ok',
    PROCESSED,
  ].join('\n'));
  assert.equal(v.file, 's.bpf.c');
  assert.equal(v.line, 5);
  assert.equal(v.sourceText, 'return x;');
  assert.equal(v.insn, 0);
  assert.equal(v.insnText, '(bf) r0 = r3');
  assert.equal(v.registers, 'R1=ctx() R10=fp0');
  assert.equal(v.message, 'R3 !read_ok');
  assert.match(v.summary, /\bR3\b.*before anything was written/);
  assert.equal(v.processedInsns, 12);
});

test('states after a branch: "from A to B:" lines and a jump line carrying its target\'s state', () => {
  const fromLine = parsed([
    'from 6 to 8: R0=map_value(map=m,ks=4,vs=8) R10=fp0',
    '; x = *p; @ b.bpf.c:12',
    '8: (61) r1 = *(u32 *)(r0 +8)',
    'invalid access to map value, value_size=8 off=8 size=4',
    'R0 min value is outside of the allowed memory range',
    PROCESSED,
  ].join('\n'));
  assert.equal(fromLine.registers, 'R0=map_value(map=m,ks=4,vs=8) R10=fp0');
  assert.equal(fromLine.insn, 8);
  assert.match(fromLine.summary, /R0 points into a map value of 8 bytes/);
  const jumpLine = parsed([
    '; if (*e & 1) @ j.bpf.c:21',
    '10: (55) if r0 != 0x0 goto pc+3 14: R0=1 R6=scalar() R10=fp0',
    '14: (bf) r0 = r7',
    'R7 !read_ok',
    PROCESSED,
  ].join('\n'));
  assert.equal(jumpLine.insn, 14);
  assert.equal(jumpLine.registers, 'R0=1 R6=scalar() R10=fp0');
  assert.equal(jumpLine.line, 21);
  const failingJump = parsed(['10: (55) if r0 != 0x0 goto pc+3 14: R0=1 R10=fp0', 'R0 !read_ok', PROCESSED].join('\n'));
  assert.equal(failingJump.insnText, '(55) if r0 != 0x0 goto pc+3');
});

test('an or_null access that names no register takes it from the instruction', () => {
  const v = parsed(['; v = *p; @ a.bpf.c:9', '12: (61) r2 = *(u32 *)(r6 +0)', "invalid mem access 'mem_or_null'", PROCESSED].join('\n'));
  assert.equal(v.message, "invalid mem access 'mem_or_null'");
  assert.match(v.summary, /^R6 may be NULL here/);
});

test('errors found before the walk name their instruction', () => {
  const unreachable = parsed(['func#0 @0', 'unreachable insn 5', 'processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0'].join('\n'));
  assert.equal(unreachable.insn, 5);
  assert.equal(unreachable.file, undefined);
  assert.equal(unreachable.message, 'unreachable insn 5');
  assert.match(unreachable.summary, /never run/);
  const backEdge = parsed(['back-edge from insn 10 to 5', 'processed 0 insns (limit 1000000)'].join('\n'));
  assert.equal(backEdge.insn, 10);
  assert.match(backEdge.summary, /bpf_loop\(\)/);
});

test('too complex: the sequence of jumps', () => {
  const v = parsed([
    '; for (i = 0; i < n; i++) @ c.bpf.c:30',
    '812: (25) if r1 > 0x3f goto pc-9     ; R1=scalar()',
    'The sequence of 8193 jumps is too complex.',
    'processed 98013 insns (limit 1000000) max_states_per_insn 4 total_states 1203 peak_states 1203 mark_read 2',
  ].join('\n'));
  assert.equal(v.message, 'The sequence of 8193 jumps is too complex.');
  assert.equal(v.insn, 812);
  assert.equal(v.registers, 'R1=scalar()');
  assert.equal(v.processedInsns, 98013);
  assert.match(v.summary, /bpf_loop\(\)/);
  assert.match(v.summary, /smaller functions/);
});

test('an unreleased reference whose allocation is not in the log', () => {
  const v = parsed(['; return 0; @ r.bpf.c:40', '20: (95) exit', 'Unreleased reference id=2 alloc_insn=5', PROCESSED].join('\n'));
  assert.match(v.summary, /acquired at instruction 5 is not released on every path/);
});

test('out-of-range memory access with a tail of its own', () => {
  const v = parsed([
    '; seen += *(__u64 *)hint; @ h.bpf.c:21',
    '38: (79) r1 = *(u64 *)(r7 +0)',
    'invalid access to memory, mem_size=4096 off=4093 size=8',
    'R7 max value is outside of the allowed memory range',
    PROCESSED,
  ].join('\n'));
  assert.equal(v.message, 'invalid access to memory, mem_size=4096 off=4093 size=8');
  assert.match(v.summary, /^R7 points to 4096 bytes of memory, and the access of 8 bytes at offset 4093/);
});

test('unknown functions: the program type cannot call them', () => {
  const v = parsed(['; t = bpf_get_current_task_btf(); @ u.bpf.c:7', '3: (85) call bpf_get_current_task_btf#158', 'unknown func bpf_get_current_task_btf#158', PROCESSED].join('\n'));
  assert.equal(v.message, 'unknown func bpf_get_current_task_btf#158');
  assert.match(v.summary, /^This program type cannot call bpf_get_current_task_btf:/);
});

test('kernels that annotate without " @ FILE:LINE" still give the source text', () => {
  const v = parsed(['; data = v->data;', '23: (79) r3 = *(u64 *)(r0 +0)', "R0 invalid mem access 'map_value_or_null'", PROCESSED].join('\n'));
  assert.equal(v.sourceText, 'data = v->data;');
  assert.equal(v.file, undefined);
  assert.equal(v.line, undefined);
  assert.equal(v.insn, 23);
});

test('annotations whose source contains " @ " split at the last one', () => {
  const v = parsed(['; s = "a @ b"; @ dir/x.bpf.c:3', '2: (bf) r1 = r9', 'R9 !read_ok', PROCESSED].join('\n'));
  assert.equal(v.file, 'dir/x.bpf.c');
  assert.equal(v.line, 3);
  assert.equal(v.sourceText, 's = "a @ b";');
});

test('a kfunc argument error starting "arg#N" is an error, not noise', () => {
  const v = parsed(['; bpf_task_release(t); @ k.bpf.c:11', '6: (85) call bpf_task_release#99281', 'arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar', PROCESSED].join('\n'));
  assert.equal(v.message, 'arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar');
  assert.equal(v.insn, 6);
  assert.equal(v.line, 11);
});

test('anything else falls back to the kernel\'s own words', () => {
  const v = parsed(['; x = ctx->a; @ f.bpf.c:4', '2: (61) r2 = *(u32 *)(r1 +8)', 'dereference of modified ctx ptr R1 off=8 disallowed', PROCESSED].join('\n'));
  assert.equal(v.summary, 'The verifier rejected this instruction: dereference of modified ctx ptr R1 off=8 disallowed');
});

// ---- where the value came from, and hints only when the log shows their cause ------------

test('a NULL-able value used in an inlined helper: the lookup that made it is found by its id', () => {
  const v = parsed(fixture('inlined_null.log'), 'count_getpid');
  assert.equal(v.message, "R0 invalid mem access 'map_value_or_null'");
  assert.equal(v.opcode, 0x79);
  assert.deepEqual(v.origin, { insn: 7, opcode: 0x85, call: 'bpf_map_lookup_elem', type: 'map_value_or_null', file: 'inlined_null.bpf.c', line: 34 });
});

test('a BPF_PROG program: the kernel annotates the failing read with the statement, and the value came from bpf_task_storage_get', () => {
  const v = parsed(fixture('bpf_prog_null.log'), 'on_switch');
  assert.equal(v.line, 25);
  assert.equal(v.origin?.call, 'bpf_task_storage_get');
  assert.equal(v.origin?.line, 24);
});

test('code merged by the compiler: the log\'s nearest annotation names an unrelated line', () => {
  // The read of w->weight (lines 25 and 27, merged) carries no line of its own, so the kernel's
  // last annotation is calls++ (36): why loader.ts asks the object's debug info instead.
  const v = parsed(fixture('merged_null.log'), 'count_getpid');
  assert.equal(v.line, 36);
  assert.equal(v.insn, 14);
  assert.equal(v.origin?.line, 34);
});

test('a subprogram\'s failing read: the origin in the callee\'s frame is found too', () => {
  const v = parsed(fixture('subprog_second.log'), 'sum');
  assert.equal(v.insn, 21);
  assert.equal(v.origin?.insn, 15);
  assert.equal(v.origin?.call, 'bpf_map_lookup_elem');
});

test('every printed instruction is kept with its opcode, to find the program in its object', () => {
  const v = parsed(fixture('subprog_second.log'), 'sum');
  assert.equal(v.printed.get(2), 0x85);
  assert.equal(v.printed.get(21), 0x79);
  assert.equal(v.printed.has(14), false, 'the second half of a 16-byte load is never printed');
});

test('a number used as a pointer that no map value gave: no uptr hint; bpf_get_current_task() named because the log calls it', () => {
  const v = parsed(fixture('task_scalar.log'), 'read_task');
  assert.equal(v.message, "R0 invalid mem access 'scalar'");
  assert.doesNotMatch(v.summary, /uptr/);
  assert.match(v.summary, /bpf_get_current_task_btf\(\)/);
  assert.equal(v.origin, undefined);
});

test('the uptr hint needs the number to come from a map value', () => {
  const log = (src: string): string =>
    ['; x @ u.bpf.c:5', `3: (79) r1 = *(u64 *)(r2 +8)        ; R1_w=scalar() R2=${src}`, '; y @ u.bpf.c:6', '4: (79) r3 = *(u64 *)(r1 +0)', "R1 invalid mem access 'scalar'", PROCESSED].join('\n');
  assert.match(parsed(log('map_value(map=hint_pages,ks=4,vs=16)')).summary, /uptr field/);
  assert.doesNotMatch(parsed(log('ctx()')).summary, /uptr/);
});

test('the tld_lookup hint needs tld_lookup in the log', () => {
  const log = (code: string): string =>
    [`; ${code} @ h.bpf.c:9`, '5: (79) r1 = *(u64 *)(r0 +0)', 'invalid access to memory, mem_size=1 off=0 size=8', 'R0 min value is outside of the allowed memory range', PROCESSED].join('\n');
  assert.match(parsed(log('seen += *(__u64 *)tld_lookup(t, &k, "a", 1);')).summary, /tld_lookup\(\) hint/);
  assert.doesNotMatch(parsed(log('seen += *(__u64 *)buf;')).summary, /tld_lookup/);
});

test('a NULL-able pointer passed to a kfunc: the argument\'s register leads to the call that returned it', () => {
  const v = parsed([
    '; t = bpf_task_from_pid(pid); @ k.bpf.c:12',
    '4: (85) call bpf_task_from_pid#99102      ; R0=ptr_or_null_task_struct(id=3,ref_obj_id=3)',
    '5: (bf) r1 = r0                       ; R0=ptr_or_null_task_struct(id=3,ref_obj_id=3) R1_w=ptr_or_null_task_struct(id=3,ref_obj_id=3)',
    '; bpf_task_release(t); @ k.bpf.c:14',
    '6: (85) call bpf_task_release#99281',
    'Possibly NULL pointer passed to trusted arg0',
    PROCESSED,
  ].join('\n'));
  assert.deepEqual(v.origin, { insn: 4, opcode: 0x85, call: 'bpf_task_from_pid', type: 'ptr_or_null_task_struct', file: 'k.bpf.c', line: 12 });
});

test('two inlined copies of a helper merged into one read: the kernel annotates it with a line of another helper', () => {
  // The read is tctx->runs (line 46 of distance()); the nearest annotation is queue_of()'s line 32,
  // as scx_qmap's task_qdist() read was reported at weight_to_idx()'s line 186.
  const v = parsed(fixture('merged_twins.log'), 'compare');
  assert.equal(v.line, 32);
  assert.equal(v.insn, 35);
  assert.equal(v.origin?.call, 'bpf_task_storage_get');
  assert.equal(v.origin?.line, 43);
});
