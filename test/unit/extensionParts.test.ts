// Parts of the extension a new user meets: the code lens's line, Doctor's marks, where files
// made from templates go, and tree views that poll only while visible.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, mock, test } from 'node:test';

import { firstSecLine } from '../../extension/src/analysis/bpfSections';
import { namedType, scanSource } from '../../extension/src/analysis/keyScan';
import { doctorMark } from '../../extension/src/client/doctor';
import { newFileFolder, studioTreeOf } from '../../extension/src/userFolder';
import { VisiblePoller } from '../../extension/src/views/visiblePoller';
import { repoRoot } from '../support/repo';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-parts-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('the code lens sits on the SEC( line, not on the blank or comment lines above it', () => {
  assert.equal(firstSecLine('#include "vmlinux.h"\n\n\nSEC("tp/x")\nint f(void *c) { return 0; }\n'), 3);
  assert.equal(firstSecLine('char LICENSE[] SEC("license") = "GPL";\n\n  \n\tSEC("iter/task")\n'), 3);
  assert.equal(firstSecLine('/* SEC("x") in a comment mid-line */\nint x;\n'), undefined);
});

test('Doctor marks a check that is absent but not needed with –, never ✓', () => {
  assert.equal(doctorMark({ name: 'sched_ext', ok: true, info: true, detail: 'absent on this kernel: try schedulers in a VM' }), '–');
  assert.equal(doctorMark({ name: 'bpffs', ok: true, detail: '/sys/fs/bpf' }), '✓');
  assert.equal(doctorMark({ name: 'bpffs', ok: false, detail: '/sys/fs/bpf' }), '✗');
});

test("a folder inside a TLD Studio checkout or installation is TLD Studio's: new files go to the user's folder", () => {
  const home = path.join(work, 'home');
  const templates = path.join(repoRoot, 'bpf', 'templates');
  assert.equal(studioTreeOf(templates, '/nonexistent/install'), repoRoot, 'a checkout, found from package.json');
  assert.deepEqual(newFileFolder(templates, '/nonexistent/install', home), { folder: path.join(home, 'tld-schedulers'), insteadOf: repoRoot });
  assert.ok(fs.statSync(path.join(home, 'tld-schedulers')).isDirectory(), 'made when missing');
  const install = path.join(work, 'ext');
  fs.mkdirSync(path.join(install, 'bpf', 'templates'), { recursive: true });
  assert.equal(newFileFolder(path.join(install, 'bpf', 'templates'), install, home).insteadOf, install, 'the installed extension');
  const own = path.join(work, 'mine');
  fs.mkdirSync(own);
  assert.deepEqual(newFileFolder(own, install, home), { folder: own }, "the user's own folder stays");
});

test('struct types named by key definitions and lookups are found in the source', () => {
  assert.equal(namedType('sizeof(struct demo_request)'), 'demo_request');
  assert.equal(namedType('sizeof(req_t)'), 'req_t');
  assert.equal(namedType('demo_request'), 'demo_request');
  assert.equal(namedType('sizeof(__u32)'), undefined);
  assert.equal(namedType('sizeof(unsigned int)'), undefined);
  assert.equal(namedType('8'), undefined);
  assert.equal(namedType('sizeof(*r)'), undefined);
  const uses = scanSource('x.cpp', 'static tld::variable<demo_request> request("demo.request");\nTLD_DEFINE_KEY(k, "a.b", sizeof(struct ab));\n');
  assert.deepEqual(uses.map((u) => [u.name, u.typeName]), [['demo.request', 'demo_request'], ['a.b', 'ab']]);
});

test('a tree view polls only while visible, and refreshes at once when it comes back into sight', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let ticks = 0;
    const p = new VisiblePoller(1000, () => ticks++);
    mock.timers.tick(5000);
    assert.equal(ticks, 0, 'not visible yet: no polling');
    p.setVisible(true);
    assert.equal(ticks, 1, 'shown: refreshed at once');
    mock.timers.tick(3000);
    assert.equal(ticks, 4);
    p.setVisible(false);
    assert.equal(p.running, false);
    mock.timers.tick(10_000);
    assert.equal(ticks, 4, 'hidden: no polling');
    p.setVisible(true);
    p.setWanted(false);
    mock.timers.tick(5000);
    assert.equal(ticks, 5, 'visible but not wanted (no guest running): no ticks');
    p.dispose();
  } finally {
    mock.timers.reset();
  }
});
