// Run by watchJit.test: a terminal watch's refreshes (a 1,000-thread process shown 42 threads at
// a time, a few threads running or changing a value each time), made as the watch makes them,
// each announced by a line "refresh N" so the runtime's trace lines can be placed between them.
import { SnapshotTexts } from '../../../extension/src/cli/format';
import { SCHED_FIELDS, SCHED_HAS_INFO, SCHED_REC } from '../../../extension/src/client/records';
import { KeyInfo, ProcessSnapshot, ThreadSnapshot } from '../../../extension/src/client/snapshot';

const THREADS = 1000;
const KEYS = 16;
const refreshes = Number(process.argv[2] ?? 200);
const keys: KeyInfo[] = Array.from({ length: KEYS }, (_, i) => ({ name: `key${i}`, size: 8, offset: 8 * i }));
const runtimeMs = new Float64Array(THREADS);

function snapshot(n: number): ProcessSnapshot {
  const used = 8 * KEYS;
  const each = used + SCHED_REC;
  const raw = new Uint8Array(each * THREADS);
  const view = new DataView(raw.buffer);
  const bytes = { raw, view, keys };
  const threads: ThreadSnapshot[] = [];
  for (let j = 0; j < THREADS; j++) {
    // One thread in 97 changes its first value, one in 50 runs.
    for (let k = 0; k < KEYS; k++) view.setBigUint64(j * each + 8 * k, BigInt(k === 0 && j % 97 === n % 97 ? n : j), true);
    if (j % 50 === n % 50) runtimeMs[j]! += 3;
    const at = j * each + used;
    view.setUint32(at + SCHED_FIELDS.tid, 5000 + j, true);
    view.setUint32(at + SCHED_FIELDS.has, SCHED_HAS_INFO, true);
    view.setBigUint64(at + SCHED_FIELDS.now, BigInt(n) * 100_000_000n, true);
    view.setUint32(at + SCHED_FIELDS.state, 1, true);
    view.setUint32(at + SCHED_FIELDS.prio, 120, true);
    view.setBigUint64(at + SCHED_FIELDS.runtime, BigInt(runtimeMs[j]!) * 1_000_000n, true);
    const t = new ThreadSnapshot(5000 + j, 'worker', j * each, bytes);
    t.setSchedAt(at);
    threads.push(t);
  }
  return { pid: 5000, comm: 'app', pageSize: 4096, layout: 1, keys, used, capacity: 4088, threads, exiting: false, raw } as ProcessSnapshot;
}

const texts = new SnapshotTexts(new Map());
for (let n = 0; n < refreshes; n++) {
  process.stdout.write(`refresh ${n}\n`);
  texts.nextBytes(snapshot(n), 42, `refresh ${n}`);
}
