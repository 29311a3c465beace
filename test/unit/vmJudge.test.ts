// The guest's judge of a developer's own loader (extension/src/vm/judge.ts): its script is
// valid busybox sh, and the lines it prints read back as the run's outcome; the share and the
// guest's size are checked before anything boots (run.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { judgeCommand, judgeScript, parseJudge } from '../../extension/src/vm/judge';
import { checkResources, checkShare } from '../../extension/src/vm/run';

test("the judge's script parses as busybox sh, and its command line quotes the shared folder", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-judge-'));
  try {
    const script = path.join(dir, 'judge.sh');
    fs.writeFileSync(script, judgeScript());
    const r = spawnSync('busybox', ['sh', '-n', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.match(judgeCommand({ seconds: 5, dir: "/home/me/it's here", workloadScript: '/etc/w.sh' }), / '\/home\/me\/it'\\''s here' '\/etc\/w\.sh'$/);
});

test("the judge's lines read back: the enabled scheduler, and the kernel's reason when it disabled it", () => {
  const j = parseJudge([
    'TLD-VM-INIT',
    'own_fifo: attached',
    'tld-vm: scheduler "own_fifo" enabled (sched_ext state: enabled)',
    '[    8.33] sched_ext: BPF scheduler "own_fifo" disabled (scx_bpf_error)',
    'tld-vm: verdict 2: the kernel disabled the scheduler "own_fifo" (scx_bpf_error): gave up',
    'TLD-VM-EXIT 2',
  ]);
  assert.deepEqual(j, {
    exitCode: 2,
    message: 'the kernel disabled the scheduler "own_fifo" (scx_bpf_error): gave up',
    outcome: { enabled: 'own_fifo', disabled: '"own_fifo" (scx_bpf_error): gave up' },
  });
  assert.deepEqual(parseJudge(['tld-vm: verdict 1: the command exited with status 3 before a sched_ext scheduler was enabled']), {
    exitCode: 1,
    message: 'the command exited with status 3 before a sched_ext scheduler was enabled',
    outcome: {},
  });
  assert.deepEqual(parseJudge(['Kernel panic - not syncing']), { outcome: {} });
});

test('a share that is missing, a file, the root or a guest file system is refused; out-of-range CPUs and memory too', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-share-'));
  try {
    assert.equal(checkShare(path.join(dir, '.')), dir);
    const refused = (p: string, code: string, re: RegExp): void => {
      assert.throws(() => checkShare(p), (e: unknown) => e instanceof TldError && e.code === code && re.test(e.message));
    };
    refused(path.join(dir, 'missing'), 'ENOENT', /the folder to share with the guest, .*missing, does not exist/);
    fs.writeFileSync(path.join(dir, 'f'), '');
    refused(path.join(dir, 'f'), 'EINVAL', /is not a folder/);
    refused('/', 'EINVAL', /the whole file system cannot be shared/);
    refused('/proc/self', 'EINVAL', /the guest has its own \/proc/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.doesNotThrow(() => checkResources(2, 1024));
  assert.throws(() => checkResources(0, undefined), /the guest takes 1 to 64 CPUs, not 0/);
  assert.throws(() => checkResources(undefined, 100), /the guest takes 256 to 65536 MiB of memory, not 100/);
});
