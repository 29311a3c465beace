// Small file helpers of the VM runner's caches: folders, hashes, sizes for messages.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../client/errors';

export function mkdirp(d: string): void {
  try {
    fs.mkdirSync(d, { recursive: true });
  } catch (e) {
    throw new TldError('EIO', `cannot create ${d}: ${(e as Error).message}; choose a writable cache folder`);
  }
}

export function rmrf(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

export function safeReaddir(d: string): string[] {
  try {
    return fs.readdirSync(d);
  } catch {
    return [];
  }
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

export function sha256File(f: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    fs.createReadStream(f)
      .on('data', (b) => h.update(b))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

/** The bytes of the files in @d (not recursive), for a download's progress; files renamed meanwhile count 0. */
export function folderBytes(d: string): number {
  let done = 0;
  for (const name of safeReaddir(d)) {
    try {
      done += fs.statSync(path.join(d, name)).size;
    } catch {
      // renamed under us
    }
  }
  return done;
}
