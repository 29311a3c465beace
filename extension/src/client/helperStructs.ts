// The structs of native/include/tldhelper.h as koffi types: the one TypeScript definition the
// helper's binding uses (test/integration/layoutProbe.test.ts checks them against the C compiler).
import koffi, { TypeObject } from 'koffi';

export const MESSAGE_LEN = 512; // TLDH_MESSAGE_LEN
export const MAX_LOADED = 32; // TLDH_MAX_LOADED

/** The koffi type of each struct, by its C name (koffi knows them by these names too). */
export interface HelperStructs {
  readonly tldh_error: TypeObject;
  readonly tldh_host: TypeObject;
  readonly tldh_finding: TypeObject;
  readonly tldh_load_result: TypeObject;
  readonly tldh_prog: TypeObject;
}

let structs: HelperStructs | undefined;

/** Declares the structs once per process (koffi names are global) and returns them. */
export function helperStructs(): HelperStructs {
  structs ??= {
    tldh_error: koffi.struct('tldh_error', { code: 'int32_t', message: koffi.array('char', MESSAGE_LEN, 'String') }),
    tldh_host: koffi.struct('tldh_host', {
      kernel: koffi.array('char', 64, 'String'),
      btf: 'int32_t',
      bpffs: 'int32_t',
      cap_bpf: 'int32_t',
      cap_perfmon: 'int32_t',
      uptr: 'int32_t',
      sched_ext: 'int32_t',
      pin_exists: 'int32_t',
      pin_ok: 'int32_t',
      pin_map_id: 'uint32_t',
      other_maps: 'uint32_t',
      pin_users: 'uint32_t',
      other_users: 'uint32_t',
      pin_path: koffi.array('char', 256, 'String'),
      pin_problem: koffi.array('char', 256, 'String'),
      pin_tasks: 'uint32_t',
      pin_advice: koffi.array('char', 4096, 'String'),
    }),
    tldh_finding: koffi.struct('tldh_finding', {
      severity: 'int32_t',
      code: koffi.array('char', 32, 'String'),
      subject: koffi.array('char', 64, 'String'),
      message: koffi.array('char', 416, 'String'),
    }),
    tldh_load_result: koffi.struct('tldh_load_result', {
      object: koffi.array('char', 64, 'String'),
      failed_program: koffi.array('char', 64, 'String'),
      log_grown: 'int32_t',
      log_len: 'uint32_t',
      n_ids: 'uint32_t',
      prog_ids: koffi.array('uint32_t', MAX_LOADED, 'Array'),
      attached: 'uint32_t',
    }),
    tldh_prog: koffi.struct('tldh_prog', {
      id: 'uint32_t',
      type: 'uint32_t',
      name: koffi.array('char', 16, 'String'),
      type_name: koffi.array('char', 32, 'String'),
      insns: 'uint32_t',
      verified_insns: 'uint32_t',
      jited_len: 'uint32_t',
      nr_map_ids: 'uint32_t',
      map_ids: koffi.array('uint32_t', 8, 'Array'),
      run_cnt: 'uint64_t',
      run_time_ns: 'uint64_t',
      ours: 'int32_t',
      pin: koffi.array('char', 192, 'String'),
    }),
  };
  return structs;
}
