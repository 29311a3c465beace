// Compile, check, load and unload BPF programs through tldctl, with errors at their source lines.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { repoRoot } from '../support/repo';
import { demoBinary, runTldctl, sleep } from '../support/processes';
import { World } from '../support/world';

const world = new World('bpfload');
const pinRoot = `/sys/fs/bpf/tld-it-progs-${process.pid}`;
const bpfDir = path.join(repoRoot, 'test', 'integration', 'bpf');
const source = (name: string) => path.join(bpfDir, name);
let env: NodeJS.ProcessEnv;
let before_: { progs: number[]; maps: number[] };

// What this file's objects create (the shared map aside: tools elsewhere on the machine make
// their own); other processes may load programs of their own meanwhile.
const ourNames = new Set(['on_switch', 'sample_hints', 'hint_counts', 'hint_pages', 'tld_key_cache_m', 'reads_pa.bss', 'uptr_def.bss', 'hint_sam.rodata',
  'count_getpid', 'count', 'sum', 'read_task', 'compare', 'weights', 'switches', 'totals', 'task_ctxs', 'merged_t.bss', 'inlined_.bss', 'bpf_prog.bss', 'merged_n.bss', 'subprog_.bss', 'task_sca.bss']);

function loadedIds(kind: 'prog' | 'map'): number[] {
  const r = spawnSync('bpftool', [kind, 'list', '-j'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { id: number; name?: string }[])
    .filter((x) => x.name !== undefined && ourNames.has(x.name))
    .map((x) => x.id)
    .sort((a, b) => a - b);
}

const tldctl = (args: string[]) => runTldctl(world.procs, args, { env, timeoutMs: 60_000 });

before(() => {
  env = { ...world.env, TLD_STUDIO_PIN_ROOT: pinRoot, XDG_CACHE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'tld-it-cache-')) };
  before_ = { progs: loadedIds('prog'), maps: loadedIds('map') };
});

after(async () => {
  await world.dispose();
  fs.rmSync(pinRoot, { recursive: true, force: true });
  fs.rmSync(env.XDG_CACHE_HOME as string, { recursive: true, force: true });
});

test('compile reports a syntax error at its file, line and column', async () => {
  const r = await tldctl(['compile', source('syntax_error.bpf.c')]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /syntax_error\.bpf\.c:10:\d+: error: expected ';'/);
  const j = await tldctl(['compile', source('syntax_error.bpf.c'), '--json']);
  const parsed = JSON.parse(j.stdout) as { ok: boolean; diagnostics: { file: string; line: number; column: number; severity: string; source: string }[] };
  assert.equal(parsed.ok, false);
  const d = parsed.diagnostics.find((x) => x.severity === 'error');
  assert.ok(d, j.stdout);
  assert.equal(d.file, source('syntax_error.bpf.c'));
  assert.equal(d.line, 10);
  assert.ok(d.column > 1);
  assert.equal(d.source, 'clang');
});

test('a verifier error is mapped to the source line that caused it, with the whole log kept', async () => {
  const r = await tldctl(['load', source('reads_past_hint.bpf.c')]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const line = r.stdout.split('\n').find((l) => /: error: /.test(l));
  assert.ok(line, r.stdout);
  // Line 21, at the read (column of the dereference), not column 1.
  assert.match(line, /reads_past_hint\.bpf\.c:21:(\d+): error: /);
  assert.ok(Number(/:21:(\d+):/.exec(line)?.[1]) > 1, line);
  assert.match(line, /\[verifier: .*invalid access to memory/);
  const log = /the verifier's whole log: (\S+)/.exec(r.stdout)?.[1];
  assert.ok(log && fs.existsSync(log), r.stdout);
  assert.match(fs.readFileSync(log, 'utf8'), /processed \d+ insns/);
  assert.ok(!fs.existsSync(path.join(pinRoot, 'reads_past_hint_bpf')), 'a failed load left pins');
});

interface JsonDiagnostic {
  file: string;
  line: number;
  column: number;
  severity: string;
  message: string;
  source: string;
  related?: { file: string; line: number; column: number; message: string }[];
}

/** tldctl load --json of a program the verifier rejects: its one verifier diagnostic. */
async function verifierError(name: string): Promise<JsonDiagnostic> {
  const r = await tldctl(['load', source(name), '--json']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const d = (JSON.parse(r.stdout) as { diagnostics: JsonDiagnostic[] }).diagnostics.find((x) => x.source === 'verifier');
  assert.ok(d, r.stdout);
  assert.equal(d.file, source(name));
  return d;
}

/** The 1-based column of @text's first occurrence on line @line of @name. */
function columnOf(name: string, line: number, text: string): number {
  const l = fs.readFileSync(source(name), 'utf8').split('\n')[line - 1] ?? '';
  assert.ok(l.includes(text), `line ${line} of ${name} has no '${text}': ${l}`);
  // clang counts a tab as one column.
  return l.indexOf(text) + 1;
}

test('a NULL-able map value read in an inlined helper: the error is on the read in the helper, at its column, with the lookup and the call as related places', async () => {
  const d = await verifierError('inlined_null.bpf.c');
  assert.equal(d.line, 27);
  assert.equal(d.column, columnOf('inlined_null.bpf.c', 27, 'w->weight') + 3); // the member access, "->weight"
  assert.match(d.message, /R0 may be NULL here/);
  const lookup = d.related?.find((r) => /bpf_map_lookup_elem\(\) returns it here/.test(r.message));
  assert.ok(lookup, JSON.stringify(d.related));
  assert.deepEqual([lookup.file, lookup.line, lookup.column], [source('inlined_null.bpf.c'), 34, columnOf('inlined_null.bpf.c', 34, 'bpf_map_lookup_elem')]);
  const call = d.related?.find((r) => /scaled\(\) inlined into count_getpid\(\)/.test(r.message));
  assert.ok(call, JSON.stringify(d.related));
  assert.deepEqual([call.line, call.column], [39, columnOf('inlined_null.bpf.c', 39, 'scaled(')]);
  // tldctl prints the related places as notes under the error.
  const text = await tldctl(['load', source('inlined_null.bpf.c')]);
  assert.match(text.stdout, /inlined_null\.bpf\.c:27:\d+: error: .*\n.*inlined_null\.bpf\.c:39:\d+: note: scaled\(\) inlined into count_getpid\(\) here\n.*inlined_null\.bpf\.c:34:\d+: note: R0: bpf_map_lookup_elem\(\) returns it here/);
});

test('a BPF_PROG program: the error is on the faulting statement, not the signature, and bpf_task_storage_get is where the value came from', async () => {
  const d = await verifierError('bpf_prog_null.bpf.c');
  assert.equal(d.line, 25);
  assert.equal(d.column, columnOf('bpf_prog_null.bpf.c', 25, '*count'));
  assert.ok(!d.related?.some((r) => /____on_switch/.test(r.message)), 'the BPF_PROG macro\'s inner function is not worth a note');
  const from = d.related?.find((r) => /bpf_task_storage_get\(\) returns it here/.test(r.message));
  assert.equal(from?.line, 24);
});

test('a read the compiler merged from two lines of an inlined helper is placed at the helper\'s call, not at the unrelated line the kernel annotated', async () => {
  // The kernel's annotation for this instruction is calls++ (line 36); see the unit fixture merged_null.log.
  const d = await verifierError('merged_null.bpf.c');
  assert.equal(d.line, 37);
  assert.match(d.message, /merged this instruction from several lines of account\(\)/);
  assert.ok(d.related?.some((r) => r.line === 22 && /account\(\)/.test(r.message)), JSON.stringify(d.related));
  assert.ok(d.related?.some((r) => r.line === 34 && /bpf_map_lookup_elem/.test(r.message)), JSON.stringify(d.related));
});

test('a read the compiler merged from two inlined copies of a helper is placed at that read in the helper, not at the other helper\'s line the kernel annotated', async () => {
  // The kernel's annotation is queue_of()'s line 32 (unit fixture merged_twins.log).
  const d = await verifierError('merged_twins.bpf.c');
  assert.equal(d.line, 46);
  assert.equal(d.column, columnOf('merged_twins.bpf.c', 46, 'tctx->runs') + 6);
  assert.match(d.message, /merged this access from several inlined copies of distance\(\)/);
  assert.ok(d.related?.some((r) => r.line === 58 && /distance\(\) inlined into compare\(\)/.test(r.message)), JSON.stringify(d.related));
  assert.ok(d.related?.some((r) => r.line === 43 && /bpf_task_storage_get/.test(r.message)), JSON.stringify(d.related));
});

test('an error in a subprogram of the second program of an object is found where libbpf appended it', async () => {
  const d = await verifierError('subprog_second.bpf.c');
  assert.equal(d.line, 29);
  assert.equal(d.column, columnOf('subprog_second.bpf.c', 29, '*t'));
  assert.ok(d.related?.some((r) => r.line === 25 && /bpf_map_lookup_elem/.test(r.message)), JSON.stringify(d.related));
});

test('without llvm-symbolizer, the object\'s .BTF.ext line info still gives the failing read\'s line and column', async () => {
  // A PATH with clang and bpftool but no llvm-symbolizer.
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-it-nosym-'));
  try {
    for (const tool of ['clang-19', 'bpftool']) {
      const found = ['/usr/bin', '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f));
      assert.ok(found, `${tool} is not installed`);
      fs.symlinkSync(found, path.join(bin, tool));
    }
    const r = await runTldctl(world.procs, ['load', source('inlined_null.bpf.c'), '--json'], { env: { ...env, PATH: bin }, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const d = (JSON.parse(r.stdout) as { diagnostics: JsonDiagnostic[] }).diagnostics.find((x) => x.source === 'verifier');
    assert.ok(d, r.stdout);
    assert.equal(d.line, 27);
    assert.equal(d.column, columnOf('inlined_null.bpf.c', 27, 'w->weight') + 3);
    // No inline chain without DWARF's help, but the lookup is still related (the kernel annotated it).
    assert.ok(d.related?.some((x) => x.line === 34 && /bpf_map_lookup_elem/.test(x.message)), JSON.stringify(d.related));
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
});

test('a number used as a pointer gets no uptr hint when no map value gave it', async () => {
  const d = await verifierError('task_scalar.bpf.c');
  assert.equal(d.line, 15);
  assert.doesNotMatch(d.message, /uptr/);
  assert.match(d.message, /bpf_get_current_task_btf\(\)/);
});

test('the uptr pitfall is caught before loading, and the same program with the struct defined loads', async () => {
  const bad = await tldctl(['compile', source('uptr_forward.bpf.c')]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /uptr_forward\.bpf\.c:19:1: error: map 'hint_pages' field 'page' is a uptr to struct hint_page, which this object only declares/);
  const good = await tldctl(['load', source('uptr_defined.bpf.c')]);
  assert.equal(good.code, 0, good.stdout + good.stderr);
  const id = Number(/program id\(s\) (\d+)/.exec(good.stdout)?.[1]);
  assert.ok(id > 0, good.stdout);
  const un = await tldctl(['unload', String(id)]);
  assert.equal(un.code, 0, un.stderr);
  assert.ok(!loadedIds('prog').includes(id), 'the program stayed loaded after unload');
});

test('the hint sampler template loads, attaches and counts the hints of a running tld-demo', async () => {
  const demo = world.procs.spawn(demoBinary, ['--threads', '4', '--tick', '20'], 'tld-demo');
  await sleep(500);
  const r = await tldctl(['load', path.join(repoRoot, 'bpf', 'templates', 'hint_sampler.bpf.c'), '--attach']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /1 attached/);
  const id = Number(/program id\(s\) (\d+)/.exec(r.stdout)?.[1]);
  await sleep(1500);
  const progs = JSON.parse((await tldctl(['progs', '--json'])).stdout) as { id: number; ours: boolean; mapIds: number[] }[];
  const prog = progs.find((p) => p.id === id);
  assert.ok(prog?.ours, 'tldctl progs does not mark the sampler as loaded by tldctl');
  const counts = new Map<number, number>();
  for (const mapId of prog.mapIds) {
    const dump = spawnSync('bpftool', ['map', 'dump', 'id', String(mapId), '-j'], { encoding: 'utf8' });
    const entries = JSON.parse(dump.stdout) as { key: number | string[]; value: number | string[]; formatted?: { key: number; value: number } }[];
    const named = spawnSync('bpftool', ['map', 'show', 'id', String(mapId), '-j'], { encoding: 'utf8' });
    if ((JSON.parse(named.stdout) as { name: string }).name !== 'hint_counts') continue;
    for (const e of entries) if (e.formatted) counts.set(e.formatted.key, e.formatted.value);
  }
  // Slot 1: sched.latency_critical == 1 (threads 0, 4, ...); slot 16 + 14: sched.weight >= 14.
  assert.ok((counts.get(1) ?? 0) > 0, `no latency-critical switches counted: ${JSON.stringify([...counts])}`);
  assert.ok((counts.get(16 + 14) ?? 0) > 0, `no weights counted: ${JSON.stringify([...counts])}`);
  assert.equal((await tldctl(['unload', String(id)])).code, 0);
  await demo.kill();
});

test('bad input gets a clear message and leaves nothing loaded', async () => {
  const missing = await tldctl(['compile', source('no_such_file.bpf.c')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no_such_file\.bpf\.c does not exist/);
  const notC = await tldctl(['compile', path.join(repoRoot, 'README.md')]);
  assert.equal(notC.code, 1);
  assert.match(notC.stderr, /is not a C source file/);
  const noClang = await runTldctl(world.procs, ['compile', source('uptr_defined.bpf.c')], { env: { ...env, PATH: '/nonexistent' }, timeoutMs: 30_000 });
  assert.equal(noClang.code, 1);
  assert.match(noClang.stderr, /not found: install it with sudo apt-get install clang-19/);
  const notLoaded = await tldctl(['unload', '999999']);
  assert.equal(notLoaded.code, 1);
  assert.match(notLoaded.stderr, /was not loaded by TLD Studio/);
});

test('a map pinned with another shape is refused with the reason', async () => {
  fs.rmSync(world.pinPath, { force: true });
  const hash = spawnSync('bpftool', ['map', 'create', world.pinPath, 'type', 'hash', 'key', '4', 'value', '16', 'entries', '4', 'name', 'not_tld'], { encoding: 'utf8' });
  assert.equal(hash.status, 0, hash.stderr);
  try {
    const r = await tldctl(['load', path.join(repoRoot, 'bpf', 'templates', 'hint_sampler.bpf.c')]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout + r.stderr, /map 'not_tld' has type 1, key size 4, value size 16, flags 0x0; task local data needs type \d+ \(task storage\)/);
  } finally {
    fs.rmSync(world.pinPath, { force: true });
  }
});

test('nothing stays loaded after the tests', () => {
  // The shared map pinned in this file's world is its own; without the pin it goes too.
  fs.rmSync(world.pinPath, { force: true });
  assert.deepEqual(loadedIds('prog').filter((id) => !before_.progs.includes(id)), []);
  assert.deepEqual(loadedIds('map').filter((id) => !before_.maps.includes(id)), []);
});
