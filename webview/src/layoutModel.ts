// The drawing data of a process's task local data layout: each key's value, its padding,
// the page's fill, and where the next key would go.
import { DATA_MAX, MAX_KEYS, roundUp } from '../../extension/src/client/layout';
import { LayoutView } from './messages';

export function layoutOf(keys: readonly { name: string; size: number; offset: number }[]): LayoutView {
  const segments = keys.map((k) => {
    const rounded = roundUp(k.size);
    return { name: k.name, offset: k.offset, size: k.size, padding: rounded - k.size };
  });
  const last = segments[segments.length - 1];
  const used = last ? last.offset + last.size + last.padding : 0;
  return { capacity: DATA_MAX, used, nextOffset: used, entries: keys.length, maxEntries: MAX_KEYS, segments };
}
