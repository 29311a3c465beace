// The VM suites' answer to an emulator fault: a run whose guest kernel crashed is run once more,
// and nothing else is. Console lines as Debian's 6.18 kernel prints them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { guestKernelCrashed, onceMoreIfGuestCrashed } from '../support/vm';

const OOPS_IN_BPF = [
  '| [    2.250790] Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] SMP NOPTI',
  '| [    2.250806]  do_syscall_64+0x84/0x800',
  '| [    2.250954]  ? __x64_sys_bpf+0x21/0x30',
].join('\n');

test('guestKernelCrashed: a panic or an oops is a crash; one asked for through sysrq, or a scheduler thrown out, is not', () => {
  assert.equal(guestKernelCrashed('| [    3.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b'), true);
  assert.equal(guestKernelCrashed(OOPS_IN_BPF), true);
  assert.equal(guestKernelCrashed(`| [    2.0] sysrq: Trigger a crash\n| [    2.0] Kernel panic - not syncing: sysrq triggered crash`), false);
  assert.equal(guestKernelCrashed('| sched_ext: BPF scheduler "hints" disabled (runnable task stall)'), false);
});

test('onceMoreIfGuestCrashed runs an attempt again only when what it saw shows a crash', async () => {
  let runs = 0;
  await onceMoreIfGuestCrashed('test', async (seen) => {
    runs++;
    if (runs === 1) {
      seen.text += OOPS_IN_BPF;
      throw new Error('the loader died');
    }
    assert.equal(seen.text, '', 'the second attempt sees only its own output');
  });
  assert.equal(runs, 2);

  runs = 0;
  await assert.rejects(
    onceMoreIfGuestCrashed('test', async (seen) => {
      runs++;
      seen.text += '| tld-scx-run: the scheduler hints did not load';
      throw new Error('no load');
    }),
    /no load/,
  );
  assert.equal(runs, 1);

  runs = 0;
  await assert.rejects(
    onceMoreIfGuestCrashed('test', async (seen) => {
      runs++;
      seen.text += OOPS_IN_BPF;
      throw new Error(`crash ${runs}`);
    }),
    /crash 2/,
    'a second crash fails the test',
  );
  assert.equal(runs, 2);
});
