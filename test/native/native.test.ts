// libtld's C tests (keys, concurrency, BPF readers on the real kernel, C++), one subtest per case.
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { listCases, runCase } from '../support/ctest';
import { nativeBuild } from '../support/repo';

const suites: ReadonlyArray<{ binary: string; about: string }> = [
  { binary: 'test_keys', about: 'libtld keys: offsets, packing and errors' },
  { binary: 'test_concurrency', about: 'libtld keys added by many threads at once' },
  { binary: 'test_layout', about: 'the layout at 4, 16 and 64 KiB pages and in both revisions: keys, and what a map\'s BTF says' },
  { binary: 'test_bpf', about: 'libtld read by BPF programs on the running kernel' },
  { binary: 'test_cpp', about: 'libtld C++ tld::variable read by BPF' },
  { binary: 'test_map_check', about: 'libtld checks a pinned map: refusals say why; CAP_SYS_ADMIN is not needed' },
  { binary: 'test_scx_hist', about: 'the latency histogram buckets schedulers and tld-scx-run share' },
  { binary: 'test_attach_cleaner', about: 'the helper\'s attach cleaner: hints go with a holder that dies, detach stands it down' },
  { binary: 'test_helper_signals', about: 'the helper loads its BPF programs while signals keep interrupting the loading thread' },
];

for (const suite of suites) {
  test(suite.about, async (t) => {
    t.diagnostic(`kernel ${os.release()}`);
    for (const c of listCases(path.join(nativeBuild, 'tests', suite.binary))) {
      await t.test(c.name.replace(/_/g, ' '), (tc) => runCase(tc, c));
    }
  });
}
