// A test scheduler with a loader of its own built the way sched_ext projects build theirs
// (test/vm/schedulers/Makefile): clang -mcpu=v3 against the sched_ext kernel's vmlinux.h,
// a bpftool 7.5 skeleton that attaches the .struct_ops.link ops itself (libbpf >= 1.5), and a
// loader linked with the static libbpf that needs only libelf and libz beside libc, so that
// it runs in a small guest.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { parseLdd } from '../../extension/src/vm/initramfs';
import { repoRoot } from '../support/repo';

const schedulers = path.join(repoRoot, 'test', 'vm', 'schedulers');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-sched-build-'));
after(() => fs.rmSync(out, { recursive: true, force: true }));

test("scx_tally's own loader builds with bpftool 7.5 and the static libbpf, its skeleton attaches the .struct_ops.link ops, and it needs only libelf and libz", () => {
  const make = spawnSync('make', ['-C', schedulers, `BUILD=${out}`], { encoding: 'utf8' });
  assert.equal(make.status, 0, make.stdout + make.stderr);
  assert.match(make.stdout, /BPF +.*scx_tally\.bpf\.o/);
  assert.match(make.stdout, /SKEL +.*scx_tally\.bpf\.skel\.h/);
  const skel = fs.readFileSync(path.join(out, 'scx_tally.bpf.skel.h'), 'utf8');
  // bpftool >= 7.5: the skeleton keeps a link for the ops map and attaches it (libbpf >= 1.5 reads map->link).
  assert.match(skel, /map->link = &obj->links\.tally_ops;/);
  assert.match(skel, /struct bpf_link \*tally_ops;/);
  const loader = path.join(out, 'scx_tally');
  const ldd = spawnSync('ldd', [loader], { encoding: 'utf8' });
  assert.equal(ldd.status, 0, ldd.stderr);
  const { libs, missing } = parseLdd(ldd.stdout);
  assert.deepEqual(missing, []);
  const names = libs.map((l) => path.basename(l).replace(/\.so.*$/, '')).sort();
  assert.deepEqual(names.filter((n) => !/^(libc|ld-linux-x86-64)$/.test(n)), ['libelf', 'libz'], ldd.stdout);
  const help = spawnSync(loader, ['-h'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stderr, /usage: .*scx_tally \[-s SLICE_US\] \[-t SECONDS\] \[-u\] \[-v\]/);
});
