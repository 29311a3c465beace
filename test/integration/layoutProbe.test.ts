// The TypeScript copies of the shared layouts (layout.ts, records.ts, the koffi structs of
// helperStructs.ts, the webview's layout model) agree with what the C compiler makes of
// tld_layout.h, tldh_records.h and tldhelper.h, as printed by native/build/tests/layout_probe.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

import koffi, { TypeObject } from 'koffi';

import { MAX_LOADED, MESSAGE_LEN, helperStructs } from '../../extension/src/client/helperStructs';
import * as L from '../../extension/src/client/layout';
import { ABI_VERSION } from '../../extension/src/client/nativeHelper';
import * as R from '../../extension/src/client/records';
import { layoutOf } from '../../webview/src/layoutModel';
import { nativeBuild } from '../support/repo';

interface StructLayout {
  size: number;
  fields: Record<string, number>;
}

interface Probe {
  structs: Record<string, StructLayout>;
  constants: Record<string, number | string>;
}

const probe = JSON.parse(execFileSync(path.join(nativeBuild, 'tests', 'layout_probe'), { encoding: 'utf8' })) as Probe;

/** What the TypeScript side says of each struct of tld_layout.h. */
const layoutStructs: Record<string, StructLayout> = {
  tld_meta_entry: { size: L.ENTRY_SIZE, fields: { name: 0, size: L.NAME_LEN } },
  // In user space the pages' arrays are open (pages are the system's size): the structs are their headers.
  tld_meta_page: { size: L.META_HEADER, fields: { cnt: L.META_CNT, size: L.META_SIZE, entries: L.META_HEADER } },
  tld_data_page: { size: L.DATA_START, fields: { start: 0, data: L.DATA_START } },
};

/** ... and of each struct of tldh_records.h. */
const recordStructs: Record<string, StructLayout> = {
  tldh_rec: { size: R.REC_HEADER, fields: { type: R.REC_TYPE, size: R.REC_SIZE } },
  tldh_meta_rec: { size: R.META_REC, fields: { tgid: R.META_TGID, len: R.META_LEN, page_size: R.META_PAGE_SIZE, layout: R.META_LAYOUT } },
  tldh_thread_rec: {
    size: R.THREAD_REC,
    fields: {
      tid: R.THREAD_TID,
      tgid: R.THREAD_TGID,
      flags: R.THREAD_FLAGS,
      data_len: R.THREAD_DATA_LEN,
      start: R.THREAD_START,
      comm: R.THREAD_COMM,
      key_cnt: R.THREAD_KEY_CNT,
      used: R.THREAD_USED,
      page_size: R.THREAD_PAGE_SIZE,
      layout: R.THREAD_LAYOUT,
    },
  },
  tldh_sched_rec: {
    size: R.SCHED_REC,
    fields: {
      tid: R.SCHED_FIELDS.tid, has: R.SCHED_FIELDS.has, now: R.SCHED_FIELDS.now, cpu: R.SCHED_FIELDS.cpu, state: R.SCHED_FIELDS.state,
      exit_state: R.SCHED_FIELDS.exitState, policy: R.SCHED_FIELDS.policy, on_cpu: R.SCHED_FIELDS.onCpu, on_rq: R.SCHED_FIELDS.onRq,
      prio: R.SCHED_FIELDS.prio, weight: R.SCHED_FIELDS.weight, runtime: R.SCHED_FIELDS.runtime, run_delay: R.SCHED_FIELDS.runDelay,
      pcount: R.SCHED_FIELDS.pcount, nvcsw: R.SCHED_FIELDS.nvcsw, nivcsw: R.SCHED_FIELDS.nivcsw, dsq_id: R.SCHED_FIELDS.dsqId,
      slice: R.SCHED_FIELDS.slice, dsq_vtime: R.SCHED_FIELDS.dsqVtime, scx_flags: R.SCHED_FIELDS.scxFlags, pad: R.SCHED_FIELDS.scxFlags + 4,
    },
  },
  tldh_trace_rec: {
    size: R.TRACE_REC,
    fields: {
      ts: R.TRACE_FIELDS.ts, kind: R.TRACE_FIELDS.kind, tid: R.TRACE_FIELDS.tid, cpu: R.TRACE_FIELDS.cpu,
      waker: R.TRACE_FIELDS.waker, flags: R.TRACE_FIELDS.flags, arg: R.TRACE_FIELDS.arg, dsq_id: R.TRACE_FIELDS.dsqId,
    },
  },
};

/** Structs only C and BPF read: the map value is never decoded in TypeScript. */
const notMirrored = ['tld_map_value', 'tld_map_value_v2'];

function koffiLayout(t: TypeObject): StructLayout {
  const members = Object.keys(koffi.type(t).members ?? {});
  return { size: koffi.sizeof(t), fields: Object.fromEntries(members.map((name) => [name, koffi.offsetof(t, name)])) };
}

test('the layout probe printed every struct the TypeScript side mirrors, and each is mirrored or listed as C-only', () => {
  const mirrored = [...Object.keys(layoutStructs), ...Object.keys(recordStructs), ...Object.keys(helperStructs()), ...notMirrored];
  assert.deepEqual([...Object.keys(probe.structs)].sort(), mirrored.sort());
});

test('layout.ts has the sizes, offsets and constants of tld_layout.h as the C compiler lays them out', () => {
  for (const [name, ts] of Object.entries(layoutStructs)) assert.deepEqual(probe.structs[name], ts, name);
  assert.deepEqual(
    {
      TLD_PAGE_SIZE_MIN: L.PAGE_SIZE_MIN,
      TLD_PAGE_SIZE_MAX: L.PAGE_SIZE_MAX,
      TLD_NAME_LEN: L.NAME_LEN,
      TLD_ENTRY_SIZE: L.ENTRY_SIZE,
      TLD_NAME_MAX: L.NAME_MAX,
      TLD_META_HEADER: L.META_HEADER,
      ...Object.fromEntries([4096, 16384, 65536].flatMap((p) => {
        const g = L.geometry(p);
        return [[`TLD_MAX_KEYS_FOR(${p})`, g.maxKeys], [`TLD_DATA_MAX_FOR(${p})`, g.dataMax], [`TLD_META_SIZE_FOR(${p})`, g.metaSize]];
      })),
      TLD_DATA_START: L.DATA_START,
      TLD_VALUE_ALIGN: L.VALUE_ALIGN,
      TLD_LAYOUT_START_IN_PAGE: L.LAYOUT_START_IN_PAGE,
      TLD_LAYOUT_START_IN_VALUE: L.LAYOUT_START_IN_VALUE,
      TLD_DEFAULT_PIN_DIR: L.DEFAULT_PIN_DIR,
      TLD_MAP_NAME: L.MAP_NAME,
    },
    Object.fromEntries(Object.entries(probe.constants).filter(([k]) => k.startsWith('TLD_'))),
  );
});

test('records.ts decodes the record structs of tldh_records.h at their C offsets, with their type and flag values', () => {
  for (const [name, ts] of Object.entries(recordStructs)) assert.deepEqual(probe.structs[name], ts, name);
  const c = probe.constants;
  assert.deepEqual(
    [R.COMM_LEN, R.REC_META, R.REC_THREAD, R.REC_WRITTEN, R.THREAD_HAS_ENTRY, R.THREAD_HAS_DATA, R.THREAD_HAS_META, R.THREAD_EXITING],
    [c.TLDH_COMM_LEN, c.TLDH_REC_META, c.TLDH_REC_THREAD, c.TLDH_REC_WRITTEN, c.TLDH_THREAD_HAS_ENTRY, c.TLDH_THREAD_HAS_DATA, c.TLDH_THREAD_HAS_META, c.TLDH_THREAD_EXITING],
  );
  assert.deepEqual(
    [R.REC_SCHED, R.REC_TRACE, R.SCHED_HAS_INFO, R.SCHED_HAS_SCX, R.SCHED_HAS_DSQ, R.TRACE_OFF_CPU, R.TRACE_ON_CPU, R.TRACE_WAKEUP, R.TRACE_HAS_DSQ],
    [c.TLDH_REC_SCHED, c.TLDH_REC_TRACE, c.TLDH_SCHED_HAS_INFO, c.TLDH_SCHED_HAS_SCX, c.TLDH_SCHED_HAS_DSQ, c.TLDH_TRACE_OFF_CPU, c.TLDH_TRACE_ON_CPU, c.TLDH_TRACE_WAKEUP, c.TLDH_TRACE_HAS_DSQ],
  );
  // The comm field runs up to the next field.
  assert.equal(R.THREAD_COMM + R.COMM_LEN, R.THREAD_KEY_CNT);
});

test('the koffi structs of tldhelper.h have the C size and every field at its C offset, and the ABI constants match', () => {
  for (const [name, t] of Object.entries(helperStructs())) {
    assert.deepEqual(koffiLayout(t), probe.structs[name], name);
  }
  assert.equal(ABI_VERSION, probe.constants.TLDH_ABI_VERSION);
  assert.equal(MESSAGE_LEN, probe.constants.TLDH_MESSAGE_LEN);
  assert.equal(MAX_LOADED, probe.constants.TLDH_MAX_LOADED);
});

test('the webview draws a page of TLD_DATA_MAX_FOR(page) bytes with room for TLD_MAX_KEYS_FOR(page) keys at 4, 16 and 64 KiB', () => {
  for (const p of [4096, 16384, 65536]) {
    const l = layoutOf([{ name: 'a', size: 3, offset: 0 }], p);
    assert.equal(l.capacity, probe.constants[`TLD_DATA_MAX_FOR(${p})`]);
    assert.equal(l.maxEntries, probe.constants[`TLD_MAX_KEYS_FOR(${p})`]);
    assert.equal(l.used, probe.constants.TLD_VALUE_ALIGN);
  }
});
