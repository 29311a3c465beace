// What the benchmark drivers share.

/** The median of a sample (0 for an empty one). */
export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
