// The newc writer of a run's part of the initramfs (vm/newc.ts), read back by GNU cpio: names,
// contents, modes, symlinks and parents as `cpio -o -H newc` would have written them.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { NewcWriter, archiveName } from '../../extension/src/vm/newc';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-newc-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function archive(name: string, fill: (w: NewcWriter) => void): string {
  const out = path.join(dir, name);
  const fd = fs.openSync(out, 'w');
  try {
    const w = new NewcWriter(fd);
    fill(w);
    w.end();
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

test('what the writer packs, cpio unpacks whole: files of every length, folders, symlinks, modes, parents first', () => {
  const project = path.join(dir, 'project');
  fs.mkdirSync(path.join(project, 'build', 'deep'), { recursive: true });
  // Lengths around the 4-byte padding, and one past the copy's 1 MiB chunk.
  for (const n of [0, 1, 2, 3, 4, 5, 1024 * 1024 + 3]) fs.writeFileSync(path.join(project, `f${n}`), Buffer.alloc(n, n % 251));
  fs.writeFileSync(path.join(project, 'build', 'deep', 'tool'), '#!/bin/sh\necho hi\n', { mode: 0o750 });
  fs.symlinkSync('deep/tool', path.join(project, 'build', 'tool'));
  const object = path.join(dir, 'sched.bpf.o');
  fs.writeFileSync(object, 'object bytes');
  const viaLink = path.join(dir, 'link-to-object');
  fs.symlinkSync(object, viaLink);

  const out = archive('run.cpio', (w) => {
    w.host('/work/project', project);
    w.host('/etc/sched.bpf.o', viaLink); // followed: the file's content under this name
    w.data('/init', Buffer.from('#!/bin/sh\ntrue\n'), 0o755);
  });
  const listing = execFileSync('sh', ['-c', `cpio -t --quiet < '${out}'`], { encoding: 'utf8' }).trim().split('\n');
  assert.ok(listing.indexOf('work') < listing.indexOf('work/project') && listing.indexOf('work/project') < listing.indexOf('work/project/build'), listing.join(' '));
  const unpacked = path.join(dir, 'unpacked');
  fs.mkdirSync(unpacked);
  execFileSync('sh', ['-c', `cpio -idm --quiet --no-absolute-filenames < '${out}'`], { cwd: unpacked });
  for (const n of [0, 1, 2, 3, 4, 5, 1024 * 1024 + 3]) {
    assert.deepEqual(fs.readFileSync(path.join(unpacked, 'work', 'project', `f${n}`)), fs.readFileSync(path.join(project, `f${n}`)), `f${n}`);
  }
  assert.equal(fs.readlinkSync(path.join(unpacked, 'work', 'project', 'build', 'tool')), 'deep/tool');
  assert.equal(fs.statSync(path.join(unpacked, 'work', 'project', 'build', 'deep', 'tool')).mode & 0o777, 0o750);
  assert.equal(fs.readFileSync(path.join(unpacked, 'etc', 'sched.bpf.o'), 'utf8'), 'object bytes');
  assert.ok(fs.lstatSync(path.join(unpacked, 'etc', 'sched.bpf.o')).isFile());
  assert.equal(fs.statSync(path.join(unpacked, 'init')).mode & 0o777, 0o755);
  const verbose = execFileSync('sh', ['-c', `cpio -tv --quiet < '${out}'`], { encoding: 'utf8' });
  assert.match(verbose, /^-rwxr-xr-x\s+1 root\s+root\s+.* init$/m, 'owned by root, as cpio -R 0:0 writes');
});

test('two archives one after the other unpack in order, the later file over the earlier', () => {
  const a = archive('a.cpio', (w) => w.data('/etc/note', Buffer.from('first'), 0o644));
  const b = archive('b.cpio', (w) => w.data('/etc/note', Buffer.from('second'), 0o644));
  const both = path.join(dir, 'both.cpio');
  fs.writeFileSync(both, Buffer.concat([fs.readFileSync(a), fs.readFileSync(b)]));
  const unpacked = fs.mkdtempSync(path.join(dir, 'both-'));
  // GNU cpio stops at the first trailer, as an archive reader should; the kernel goes on to the next.
  execFileSync('sh', ['-c', `cpio -idmu --quiet < '${a}' && cpio -idmu --quiet < '${b}'`], { cwd: unpacked });
  assert.equal(fs.readFileSync(path.join(unpacked, 'etc', 'note'), 'utf8'), 'second');
  assert.equal(fs.statSync(both).size % 4, 0, 'each archive ends on a 4-byte boundary');
});

test('a destination that is not absolute or climbs out, or a source that is missing, is refused by name', () => {
  assert.equal(archiveName('/etc//x/'), 'etc/x');
  assert.equal(archiveName('/a/../b'), 'b');
  for (const bad of ['etc/x', '/', '/..']) assert.throws(() => archiveName(bad), (e: unknown) => e instanceof TldError && e.code === 'EINVAL', bad);
  const fd = fs.openSync(path.join(dir, 'missing.cpio'), 'w');
  try {
    assert.throws(() => new NewcWriter(fd).host('/etc/x', path.join(dir, 'no-such-file')), (e: unknown) => e instanceof TldError && e.code === 'ENOENT' && /no-such-file \(for \/etc\/x in the initramfs\) does not exist/.test(e.message));
  } finally {
    fs.closeSync(fd);
  }
});
