// The drawing data of a process's task local data layout: each key's value, its padding,
// the page's fill, and where the next key would go.
import { LayoutView } from './messages';

export const PAGE_DATA = 4088; // mirrors TLD_DATA_MAX in native/include/tld_layout.h
export const MAX_ENTRIES = 63; // TLD_MAX_KEYS

export function layoutOf(keys: readonly { name: string; size: number; offset: number }[]): LayoutView {
  const segments = keys.map((k) => {
    const rounded = Math.ceil(k.size / 8) * 8;
    return { name: k.name, offset: k.offset, size: k.size, padding: rounded - k.size };
  });
  const last = segments[segments.length - 1];
  const used = last ? last.offset + last.size + last.padding : 0;
  return { capacity: PAGE_DATA, used, nextOffset: used, entries: keys.length, maxEntries: MAX_ENTRIES, segments };
}
