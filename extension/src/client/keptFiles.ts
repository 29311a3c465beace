// Files built once and kept in a cache folder, named by what they were made from: the
// initramfs bases of the VM runner and the precompiled vmlinux.h of the compiler.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A file's identity for a cache key: a rebuilt or replaced file is another key. */
export function statKey(file: string): string {
  const st = fs.statSync(file);
  return `${file}\0${st.size}\0${st.mtimeMs}\0${st.ino}`;
}

/** Marks @file as just used, so that pruneKept keeps it longest. */
export function touch(file: string): void {
  const now = new Date();
  fs.utimesSync(file, now, now);
}

/**
 * Removes all but the @keep most recently used files of @dir whose names match @pattern, never
 * @kept (counted among them). @companions: other files named after a removed one, removed with it.
 */
export function pruneKept(dir: string, pattern: RegExp, keep: number, kept: string, companions: (file: string) => readonly string[] = () => []): void {
  const files = fs
    .readdirSync(dir)
    .filter((f) => pattern.test(f) && path.join(dir, f) !== kept)
    .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of files.slice(keep - 1)) {
    for (const g of [f, ...companions(f)]) fs.rmSync(path.join(dir, g), { force: true });
  }
}
