// The task local data layout, mirroring native/include/tld_layout.h (the one C definition): the one
// TypeScript copy, which the extension, tldctl and the webview bundle import (so no Node types here).
// Pages of any supported size (4 to 64 KiB) and both of upstream's layout revisions.

export const PAGE_SIZE_MIN = 4096;
export const PAGE_SIZE_MAX = 65536;
/** The page size of x86 and of a default arm64 kernel; the layout's when nothing says otherwise. */
export const PAGE_SIZE = PAGE_SIZE_MIN;
export const NAME_LEN = 62;
export const NAME_MAX = NAME_LEN - 1;
export const ENTRY_SIZE = 64;
export const DATA_START = 8;
export const VALUE_ALIGN = 8;
/** struct tld_meta_page: u16 cnt, u16 size, then the entries. */
export const META_CNT = 0;
export const META_SIZE = 2;
export const META_HEADER = 4;
export const DEFAULT_PIN_DIR = '/sys/fs/bpf/tld';
export const MAP_NAME = 'tld_data_map';

/** Where a map keeps `start` (enum tld_layout_rev). */
export const LAYOUT_START_IN_PAGE = 1;
export const LAYOUT_START_IN_VALUE = 2;
export type LayoutRevision = typeof LAYOUT_START_IN_PAGE | typeof LAYOUT_START_IN_VALUE;

/** The numbers of the layout for one page size. */
export interface Geometry {
  readonly pageSize: number;
  /** Keys a metadata page holds. */
  readonly maxKeys: number;
  /** Bytes of values a data page holds. */
  readonly dataMax: number;
  /** Bytes of a metadata page's struct (header and entries). */
  readonly metaSize: number;
}

export function isPageSize(n: number): boolean {
  return Number.isInteger(n) && n >= PAGE_SIZE_MIN && n <= PAGE_SIZE_MAX && (n & (n - 1)) === 0;
}

export function geometry(pageSize: number): Geometry {
  if (!isPageSize(pageSize)) throw new RangeError(`${pageSize} is not a page size of 4 to 64 KiB`);
  const maxKeys = pageSize / ENTRY_SIZE - 1;
  return { pageSize, maxKeys, dataMax: pageSize - DATA_START, metaSize: META_HEADER + maxKeys * ENTRY_SIZE };
}

/** The 4 KiB geometry. */
export const GEOMETRY_4K = geometry(PAGE_SIZE);
export const MAX_KEYS = GEOMETRY_4K.maxKeys;
export const DATA_MAX = GEOMETRY_4K.dataMax;
export const META_PAGE_SIZE = GEOMETRY_4K.metaSize;
/** The most any page size allows: what a request may ask before the map's own limits apply. */
export const DATA_MAX_ANY = geometry(PAGE_SIZE_MAX).dataMax;
export const MAX_KEYS_ANY = geometry(PAGE_SIZE_MAX).maxKeys;

export function roundUp(size: number): number {
  return Math.ceil(size / VALUE_ALIGN) * VALUE_ALIGN;
}
