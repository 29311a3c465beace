// Which table cells flash, and until when: a cell changed by a refresh shows as changed for a
// while. A 10,000-thread refresh changes thousands of cells, so a cell costs a map lookup by its
// thread (a small integer) and an array store, and each refresh's cells expire together:
// expiring costs what expires, not a walk over every cell still flashing.

/** A thread's flashing cells: until when each column flashes (0 or absent: not), and how many do. */
interface Row {
  readonly at: number[];
  n: number;
}

interface Batch {
  readonly until: number;
  /** Its cells: thread ids and column indexes, pairwise. */
  readonly tids: number[];
  readonly cols: number[];
}

export class Flashes {
  private readonly rows = new Map<number, Row>();
  /** The cells marked together, oldest first, with the time they stop. */
  private readonly batches: Batch[] = [];
  private cells = 0;

  /** How many cells flash (or flashed and were not expired yet). */
  get size(): number {
    return this.cells;
  }

  /** Starts a batch of cells that flash until @until (ms); mark() adds to it. */
  begin(until: number): void {
    this.batches.push({ until, tids: [], cols: [] });
  }

  /** Cell @column of thread @tid flashes until the last begin()'s time. */
  mark(tid: number, column: number): void {
    const batch = this.batches[this.batches.length - 1];
    if (!batch) throw new Error('Flashes.mark() before begin()');
    let row = this.rows.get(tid);
    if (!row) this.rows.set(tid, (row = { at: [], n: 0 }));
    if (!row.at[column]) {
      row.n++;
      this.cells++;
    }
    row.at[column] = batch.until;
    batch.tids.push(tid);
    batch.cols.push(column);
  }

  isOn(tid: number, column: number, now: number): boolean {
    return (this.rows.get(tid)?.at[column] ?? 0) > now;
  }

  /** Forgets the cells whose time is up at @now (unless marked again since); whether any still flash. */
  expire(now: number): boolean {
    while (this.batches.length && (this.batches[0] as Batch).until <= now) {
      const batch = this.batches.shift() as Batch;
      for (let i = 0; i < batch.tids.length; i++) {
        const tid = batch.tids[i] as number;
        const row = this.rows.get(tid);
        const col = batch.cols[i] as number;
        if (!row || row.at[col] !== batch.until) continue;
        row.at[col] = 0;
        this.cells--;
        if (--row.n === 0) this.rows.delete(tid);
      }
    }
    return this.cells > 0;
  }
}
