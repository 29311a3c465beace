// Build flags from compile_commands.json, and telling a sched_ext source from others.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { buildFlags, compileCommandsFlags, splitCommand } from '../../extension/src/client/compileCommands';
import { schedExtUse, settingsBuildRequest } from '../../extension/src/vm/buildOptions';

/** A folder of files (path -> text), removed after @f. */
function withTree(files: Record<string, string>, f: (root: string) => void): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-unit-cc-'));
  try {
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    }
    f(root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

test('a command line splits into words as sh reads it', () => {
  assert.deepEqual(splitCommand(`cc -I'a b' -DX="1 2" -Dq=\\"s\\" c.c`), ['cc', '-Ia b', '-DX=1 2', '-Dq="s"', 'c.c']);
});

test('only the flags a BPF build takes are kept, include folders made absolute', () => {
  const f = buildFlags(['-I', 'inc', '-I../lib', '-isystem', '/sys/inc', '-DA=1', '-D', 'B', '-UC', '-mcpu=v3', '-std=gnu11', '-O2', '-fPIC', '-o', 'x.o', '-Wall'], '/w/build');
  assert.deepEqual(f.includeDirs, ['/w/build/inc', '/w/lib', '/sys/inc']);
  assert.deepEqual(f.cflags, ['-DA=1', '-DB', '-UC', '-mcpu=v3', '-std=gnu11']);
});

test("a BPF source without an entry takes its sibling loader's flags (meson writes entries for scx_simple.c only)", () => {
  withTree(
    {
      'scheds/c/scx_simple.bpf.c': '',
      'scheds/c/scx_simple.c': '',
      'scheds/c/scx_qmap.c': '',
      'build/compile_commands.json': JSON.stringify([
        { directory: '/unused', file: '/elsewhere/a.c', arguments: ['cc', '-DWRONG', '-c', 'a.c'] },
        { directory: 'DIR', file: '../scheds/c/scx_qmap.c', command: 'cc -DQMAP -I../scheds/include -c ../scheds/c/scx_qmap.c' },
        { directory: 'DIR', file: '../scheds/c/scx_simple.c', command: 'cc -DSIMPLE -I../scheds/include -mcpu=v3 -c ../scheds/c/scx_simple.c' },
      ]),
    },
    (root) => {
      const db = path.join(root, 'build', 'compile_commands.json');
      fs.writeFileSync(db, fs.readFileSync(db, 'utf8').replace(/DIR/g, path.join(root, 'build')));
      const f = compileCommandsFlags(path.join(root, 'scheds/c/scx_simple.bpf.c'), root);
      assert.ok(f);
      assert.equal(f.from, db);
      assert.equal(f.entry, path.join(root, 'scheds/c/scx_simple.c'));
      assert.deepEqual(f.includeDirs, [path.join(root, 'scheds/include')]);
      assert.deepEqual(f.cflags, ['-DSIMPLE', '-mcpu=v3']);
    },
  );
});

test("a file's own entry wins, and a folder without compile_commands.json gives nothing", () => {
  withTree(
    {
      'p/x.bpf.c': '',
      'p/x.c': '',
      'p/compile_commands.json': JSON.stringify([
        { directory: 'ROOT/p', file: 'x.c', arguments: ['cc', '-DLOADER', 'x.c'] },
        { directory: 'ROOT/p', file: 'x.bpf.c', arguments: ['clang', '-DBPF', 'x.bpf.c'] },
      ]),
      'q/y.bpf.c': '',
    },
    (root) => {
      const db = path.join(root, 'p', 'compile_commands.json');
      fs.writeFileSync(db, fs.readFileSync(db, 'utf8').replace(/ROOT/g, root));
      assert.deepEqual(compileCommandsFlags(path.join(root, 'p/x.bpf.c'), root)?.cflags, ['-DBPF']);
      assert.equal(compileCommandsFlags(path.join(root, 'q/y.bpf.c'), path.join(root, 'q')), undefined);
    },
  );
});

test('a source uses sched_ext when it includes scx headers, names sched_ext_ops or defines ops', () => {
  assert.equal(schedExtUse('#include "vmlinux.h"\n#include <scx/common.bpf.h>\n'), 2);
  assert.equal(schedExtUse('#include "scx.bpf.h"\n'), 1);
  assert.equal(schedExtUse('int x;\nSEC(".struct_ops.link")\nstruct sched_ext_ops simple_ops = {};\n'), 3);
  assert.equal(schedExtUse('s32 BPF_STRUCT_OPS(simple_init)\n'), 1);
  assert.equal(schedExtUse('#include "vmlinux.h"\nSEC("tp_btf/sched_switch")\nint on_switch(void *ctx) { return 0; }\n'), undefined);
});

test("the extension's settings: ${workspaceFolder} expanded, relative folders from the workspace, non-strings ignored", () => {
  const r = settingsBuildRequest(
    { includePath: ['${workspaceFolder}/scheds/include', 'vendor/inc', 7, ''], cflags: ['-DDEBUG', null, '-I${workspaceFolder}/x'], kernel: '${workspaceFolder}/vmlinux.h' },
    '/ws',
    '/ws',
  );
  assert.deepEqual(r.includeDirs, ['/ws/scheds/include', '/ws/vendor/inc']);
  assert.deepEqual(r.cflags, ['-DDEBUG', '-I/ws/x']);
  assert.equal(r.kernel, '/ws/vmlinux.h');
  assert.equal(r.compileCommandsTop, '/ws');
  const loose = settingsBuildRequest({ includePath: 'not an array', kernel: '' }, '/tmp/files');
  assert.deepEqual([loose.includeDirs, loose.cflags, loose.kernel, loose.compileCommandsTop], [[], [], undefined, '/tmp/files']);
});
