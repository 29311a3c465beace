// The task local data layout, mirroring native/include/tld_layout.h (the one C definition): the one
// TypeScript copy, which the extension, tldctl and the webview bundle import (so no Node types here).

export const PAGE_SIZE = 4096;
export const NAME_LEN = 62;
export const NAME_MAX = NAME_LEN - 1;
export const ENTRY_SIZE = 64;
export const MAX_KEYS = PAGE_SIZE / ENTRY_SIZE - 1;
export const DATA_START = 8;
export const DATA_MAX = PAGE_SIZE - DATA_START;
export const VALUE_ALIGN = 8;
/** struct tld_meta_page: u16 cnt, u16 size, then the entries. */
export const META_CNT = 0;
export const META_SIZE = 2;
export const META_HEADER = 4;
export const META_PAGE_SIZE = META_HEADER + MAX_KEYS * ENTRY_SIZE;
export const DEFAULT_PIN_DIR = '/sys/fs/bpf/tld';
export const MAP_NAME = 'tld_data_map';

export function roundUp(size: number): number {
  return Math.ceil(size / VALUE_ALIGN) * VALUE_ALIGN;
}
