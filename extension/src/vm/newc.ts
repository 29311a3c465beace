// A newc cpio archive ("070701", the format the kernel unpacks as an initramfs) written straight
// from host files: what `cpio -o -H newc -R 0:0 --reproducible` writes for a folder, without
// copying the files into a folder first. For a run's own part of the initramfs (its /init, a
// scheduler object, a project folder copied into the guest), which changes every run.
//
//   const w = new NewcWriter(fd);            // an fd open for writing (or appending)
//   w.host('etc/sched.bpf.o', '/tmp/sched.bpf.o');
//   w.data('init', Buffer.from(script), 0o755);
//   w.end();                                 // the trailer; the kernel reads archives one after another
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../client/errors';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const COPY_CHUNK = 1 << 20;

export class NewcWriter {
  private ino = 1;
  private readonly dirs = new Set<string>();
  private readonly chunk = Buffer.alloc(COPY_CHUNK);

  constructor(private readonly fd: number) {}

  /**
   * @src at @dest (a path in the guest): a file's content (a symlink given here is followed), or
   * a folder with everything below it, whose symlinks stay symlinks.
   */
  host(dest: string, src: string): void {
    const name = archiveName(dest);
    const st = statOrThrow(src, dest, fs.statSync);
    this.parents(name);
    this.entry(name, src, st);
  }

  /** @data as the regular file @dest, with @mode's permission bits. */
  data(dest: string, data: Buffer, mode: number): void {
    const name = archiveName(dest);
    this.parents(name);
    this.header(name, S_IFREG | (mode & 0o7777), data.length, nowSeconds(), 1);
    this.write(data);
    this.pad(data.length);
  }

  /** The trailer that ends this archive. */
  end(): void {
    this.header('TRAILER!!!', 0, 0, 0, 1);
  }

  private entry(name: string, src: string, st: fs.Stats): void {
    const mtime = Math.floor(st.mtimeMs / 1000);
    if (st.isDirectory()) {
      this.dir(name, st.mode & 0o7777, mtime);
      const names = fs.readdirSync(src).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const n of names) {
        const child = path.join(src, n);
        this.entry(`${name}/${n}`, child, statOrThrow(child, `/${name}/${n}`, fs.lstatSync));
      }
    } else if (st.isSymbolicLink()) {
      const target = Buffer.from(fs.readlinkSync(src));
      this.header(name, S_IFLNK | 0o777, target.length, mtime, 1);
      this.write(target);
      this.pad(target.length);
    } else if (st.isFile()) {
      if (st.size > 0xffffffff) throw new TldError('EINVAL', `${src} (for /${name} in the initramfs) is over 4 GiB, more than a newc archive holds`);
      this.header(name, S_IFREG | (st.mode & 0o7777), st.size, mtime, 1);
      this.copy(src, st.size);
      this.pad(st.size);
    } else {
      throw new TldError('EINVAL', `${src} (for /${name} in the initramfs) is not a file, folder or symlink`);
    }
  }

  private parents(name: string): void {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) this.dir(parts.slice(0, i).join('/'), 0o755, nowSeconds());
  }

  private dir(name: string, mode: number, mtime: number): void {
    if (this.dirs.has(name)) return;
    this.dirs.add(name);
    this.header(name, S_IFDIR | mode, 0, mtime, 2);
  }

  /** The 110-byte header, the name with its NUL, padded to 4 bytes. Owner 0:0, as `cpio -R 0:0`. */
  private header(name: string, mode: number, size: number, mtime: number, nlink: number): void {
    const nameBytes = Buffer.from(`${name}\0`);
    const fields = [this.ino++, mode, 0, 0, nlink, mtime, size, 0, 0, 0, 0, nameBytes.length, 0];
    const head = Buffer.from(`070701${fields.map((f) => (f >>> 0).toString(16).padStart(8, '0')).join('')}`, 'latin1');
    this.write(head);
    this.write(nameBytes);
    this.pad(head.length + nameBytes.length);
  }

  private copy(src: string, size: number): void {
    const from = fs.openSync(src, 'r');
    try {
      let done = 0;
      while (done < size) {
        const n = fs.readSync(from, this.chunk, 0, Math.min(COPY_CHUNK, size - done), done);
        if (n === 0) throw new TldError('EIO', `${src} became shorter while it was packed into the initramfs`);
        this.write(this.chunk.subarray(0, n));
        done += n;
      }
    } finally {
      fs.closeSync(from);
    }
  }

  private pad(length: number): void {
    const n = (4 - (length % 4)) % 4;
    if (n) this.write(Buffer.alloc(n));
  }

  private write(b: Buffer): void {
    for (let off = 0; off < b.length; ) off += fs.writeSync(this.fd, b, off, b.length - off);
  }
}

/**
 * @dest as an archive name: relative to the root ("etc/x"). Normalizing an absolute path leaves
 * no ".." in it, so no name climbs above the root.
 */
export function archiveName(dest: string): string {
  if (!path.posix.isAbsolute(dest)) throw new TldError('EINVAL', `initramfs file destination ${dest} is not an absolute path`);
  const name = path.posix.normalize(dest).replace(/^\/+/, '').replace(/\/+$/, '');
  if (name === '') throw new TldError('EINVAL', `${dest} is not a file's place in the initramfs`);
  return name;
}

function statOrThrow(src: string, dest: string, stat: (p: string) => fs.Stats): fs.Stats {
  try {
    return stat(src);
  } catch {
    throw new TldError('ENOENT', `${src} (for ${dest} in the initramfs) does not exist`);
  }
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
