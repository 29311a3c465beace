// The task local data layout, mirroring native/include/tld_layout.h (the one C definition).

export const PAGE_SIZE = 4096;
export const NAME_LEN = 62;
export const NAME_MAX = NAME_LEN - 1;
export const ENTRY_SIZE = 64;
export const MAX_KEYS = PAGE_SIZE / ENTRY_SIZE - 1;
export const DATA_START = 8;
export const DATA_MAX = PAGE_SIZE - DATA_START;
export const VALUE_ALIGN = 8;
/** struct tld_meta_page: u16 cnt, u16 size, then the entries. */
export const META_HEADER = 4;
export const META_PAGE_SIZE = META_HEADER + MAX_KEYS * ENTRY_SIZE;
export const DEFAULT_PIN_DIR = '/sys/fs/bpf/tld';
export const MAP_NAME = 'tld_data_map';

export function roundUp(size: number): number {
  return Math.ceil(size / VALUE_ALIGN) * VALUE_ALIGN;
}

/** The pin path the tools use: $TLD_PIN_DIR/tld_data_map, as libtld resolves it. */
export function defaultPinPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TLD_PIN_DIR && env.TLD_PIN_DIR.length > 0 ? env.TLD_PIN_DIR : DEFAULT_PIN_DIR;
  return `${dir}/${MAP_NAME}`;
}
