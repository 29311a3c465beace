// Which table cells flash, and until when: a cell changed by a refresh shows as changed for a
// while. A 10,000-thread refresh changes thousands of cells, so cells are named by numbers (no
// string per cell), and each refresh's cells expire together: expiring costs what expires, not
// a walk over every cell still flashing.

/** More columns than a table has (keys, then scheduling columns). */
const COLUMNS = 4096;

const cellId = (tid: number, column: number): number => tid * COLUMNS + column;

export class Flashes {
  /** Cell -> the time (ms) it stops flashing. */
  private readonly until = new Map<number, number>();
  /** The cells marked together, oldest first, with the time they stop. */
  private readonly batches: { readonly until: number; readonly cells: number[] }[] = [];

  get size(): number {
    return this.until.size;
  }

  /** Starts a batch of cells that flash until @until (ms); mark() adds to it. */
  begin(until: number): void {
    this.batches.push({ until, cells: [] });
  }

  /** Cell @column of thread @tid flashes until the last begin()'s time. */
  mark(tid: number, column: number): void {
    const batch = this.batches[this.batches.length - 1];
    if (!batch) throw new Error('Flashes.mark() before begin()');
    const id = cellId(tid, column);
    this.until.set(id, batch.until);
    batch.cells.push(id);
  }

  isOn(tid: number, column: number, now: number): boolean {
    return (this.until.get(cellId(tid, column)) ?? 0) > now;
  }

  /** Forgets the cells whose time is up at @now (unless marked again since); whether any still flash. */
  expire(now: number): boolean {
    while (this.batches.length && (this.batches[0] as { until: number }).until <= now) {
      const batch = this.batches.shift() as { readonly until: number; readonly cells: number[] };
      for (const id of batch.cells) if (this.until.get(id) === batch.until) this.until.delete(id);
    }
    return this.until.size > 0;
  }

  clear(): void {
    this.until.clear();
    this.batches.length = 0;
  }
}
