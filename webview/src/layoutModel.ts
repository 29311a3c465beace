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

/** One piece of the zoomed layout bar, in drawing units. */
export interface ZoomPart {
  readonly kind: 'value' | 'padding' | 'free';
  /** The key's index for a value or its padding. */
  readonly index: number;
  readonly x: number;
  readonly width: number;
  /** Byte range [from, to) of the page's data area. */
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

export interface RulerTick {
  readonly x: number;
  readonly offset: number;
}

export interface ZoomedLayout {
  readonly parts: readonly ZoomPart[];
  readonly ticks: readonly RulerTick[];
  /** Drawing units per byte in the used part. */
  readonly scale: number;
  /** Where the used part ends and the collapsed free tail starts. */
  readonly usedWidth: number;
}

/** Share of the bar the collapsed free tail takes when keys are there. */
const FREE_SHARE = 0.2;

const bytes = (n: number) => `${n.toLocaleString('en-US')} B`;

/**
 * The used bytes of @layout zoomed to fill most of @width, every value and its padding in
 * proportion, and the free tail collapsed into one segment labelled with its size; a ruler
 * with a tick every power-of-two number of bytes (at least 8) that leaves room for its labels.
 */
export function zoomLayout(layout: LayoutView, width: number, minTickGap = 40): ZoomedLayout {
  const free = layout.capacity - layout.used;
  const usedWidth = layout.used > 0 ? (free > 0 ? width * (1 - FREE_SHARE) : width) : 0;
  const scale = layout.used > 0 ? usedWidth / layout.used : 0;
  const parts: ZoomPart[] = [];
  layout.segments.forEach((s, i) => {
    parts.push({ kind: 'value', index: i, x: s.offset * scale, width: s.size * scale, from: s.offset, to: s.offset + s.size, label: `${s.name}: ${bytes(s.size)} at offset ${s.offset}` });
    if (s.padding) {
      const from = s.offset + s.size;
      parts.push({ kind: 'padding', index: i, x: from * scale, width: s.padding * scale, from, to: from + s.padding, label: `${bytes(s.padding)} of padding after ${s.name}` });
    }
  });
  if (free > 0) parts.push({ kind: 'free', index: -1, x: usedWidth, width: width - usedWidth, from: layout.used, to: layout.capacity, label: `free: ${bytes(free)}` });
  const ticks: RulerTick[] = [];
  if (layout.used > 0) {
    let step = 8;
    while (step * scale < minTickGap && step < layout.used) step *= 2;
    for (let at = 0; at <= layout.used; at += step) ticks.push({ x: at * scale, offset: at });
    const last = ticks[ticks.length - 1];
    if (last && last.offset !== layout.used) {
      // The end of the used bytes is always marked; a tick too close before it gives way.
      if (usedWidth - last.x < minTickGap / 2 && ticks.length > 1) ticks.pop();
      ticks.push({ x: usedWidth, offset: layout.used });
    }
  }
  return { parts, ticks, scale, usedWidth };
}
