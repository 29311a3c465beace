// The drawing data of a process's task local data layout: each key's value, its padding,
// the page's fill, and where the next key would go.
import { GEOMETRY_4K, geometry, roundUp } from '../../extension/src/client/layout';
import { LayoutView } from './messages';

/** @pageSize: the map's (4 KiB unless the snapshot says otherwise). */
export function layoutOf(keys: readonly { name: string; size: number; offset: number }[], pageSize = GEOMETRY_4K.pageSize): LayoutView {
  const g = geometry(pageSize);
  const segments = keys.map((k) => {
    const rounded = roundUp(k.size);
    return { name: k.name, offset: k.offset, size: k.size, padding: rounded - k.size };
  });
  const last = segments[segments.length - 1];
  const used = last ? last.offset + last.size + last.padding : 0;
  return { capacity: g.dataMax, used, nextOffset: used, entries: keys.length, maxEntries: g.maxKeys, segments };
}
