// Reading Linux kernel images without running them: the x86 bzImage boot header (version,
// compressed payload) and 64-bit ELF files (sections, notes, the "Linux version" banner).
//
//   const k = inspectKernelImage(fs.readFileSync('vmlinuz'));
//   if (k.kind === 'bzImage') decompress(k.payload, k.compression) ...
//   elfSections(vmlinux).some((s) => s.name === '.BTF')
//
// Pure functions over Buffers; kernel.ts does the file and process work.

/** Compression formats of a bzImage payload, by their magic bytes. */
export type Compression = 'zstd' | 'gzip' | 'xz' | 'lzma' | 'bzip2' | 'lz4' | 'lzo' | 'none';

const MAGICS: ReadonlyArray<readonly [Compression, Buffer]> = [
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['gzip', Buffer.from([0x1f, 0x8b, 0x08])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['bzip2', Buffer.from('BZh')],
  ['lz4', Buffer.from([0x02, 0x21, 0x4c, 0x18])],
  ['lzo', Buffer.from([0x89, 0x4c, 0x5a, 0x4f])],
  ['lzma', Buffer.from([0x5d, 0x00, 0x00])],
  ['none', Buffer.from([0x7f, 0x45, 0x4c, 0x46])],
];

export const ZSTD_MAGIC = MAGICS[0]![1];

export type KernelImage =
  | {
      readonly kind: 'bzImage';
      /** The kernel release from the boot header ("6.18.15+deb13-cloud-amd64"), or null. */
      readonly version: string | null;
      /** The compressed vmlinux, without the 4-byte size the kernel build appends. */
      readonly payload: Buffer;
      readonly compression: Compression;
      /** The decompressed size the build recorded after the payload, or null if unknown. */
      readonly uncompressedSize: number | null;
    }
  | {
      readonly kind: 'elf';
      readonly version: string | null;
      /** It has a PVH entry note (CONFIG_PVH): qemu's -kernel can boot it directly. */
      readonly pvh: boolean;
    }
  | { readonly kind: 'unknown'; readonly reason: string };

/** What a file holding a Linux kernel is, read from its bytes. */
export function inspectKernelImage(buf: Buffer): KernelImage {
  if (isElf(buf)) {
    try {
      const pvh = elfNotes(buf).some((n) => n.name === 'Xen' && n.type === 18); // XEN_ELFNOTE_PHYS32_ENTRY
      return { kind: 'elf', version: bannerVersion(buf), pvh };
    } catch (e) {
      return { kind: 'unknown', reason: `a malformed ELF file (${(e as Error).message})` };
    }
  }
  if (buf.length < 0x264 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS' || buf.readUInt16LE(0x1fe) !== 0xaa55) {
    return { kind: 'unknown', reason: "neither an x86 bzImage (no 'HdrS' boot header) nor an ELF vmlinux" };
  }
  const protocol = buf.readUInt16LE(0x206);
  let version: string | null = null;
  const vptr = buf.readUInt16LE(0x20e);
  if (vptr !== 0 && vptr + 0x200 < buf.length) {
    const raw = cString(buf, vptr + 0x200, 256);
    const m = /^(\d+\.\d+\S*)/.exec(raw);
    version = m ? m[1]! : null;
  }
  const setupSects = buf[0x1f1] || 4;
  const pmStart = (setupSects + 1) * 512;
  let start = -1;
  let length = -1;
  if (protocol >= 0x208) {
    const off = buf.readUInt32LE(0x248);
    const len = buf.readUInt32LE(0x24c);
    if (len > 4 && pmStart + off + len <= buf.length) {
      start = pmStart + off;
      length = len;
    }
  }
  let compression: Compression | null = start >= 0 ? compressionAt(buf, start) : null;
  if (compression === null) {
    // Old boot protocol or an odd header: look for a zstd frame as scripts/extract-vmlinux does.
    const at = buf.indexOf(ZSTD_MAGIC, pmStart > buf.length ? 0 : pmStart);
    if (at < 0) return { kind: 'unknown', reason: 'a bzImage whose compressed payload could not be found' };
    start = at;
    length = buf.length - at;
    compression = 'zstd';
    return { kind: 'bzImage', version, payload: buf.subarray(start, start + length), compression, uncompressedSize: null };
  }
  // The build appends the decompressed size as a little-endian u32 after the compressed data.
  const uncompressedSize = buf.readUInt32LE(start + length - 4);
  return {
    kind: 'bzImage',
    version,
    payload: buf.subarray(start, start + length - 4),
    compression,
    uncompressedSize,
  };
}

function compressionAt(buf: Buffer, at: number): Compression | null {
  for (const [name, magic] of MAGICS) {
    if (buf.length >= at + magic.length && buf.subarray(at, at + magic.length).equals(magic)) return name;
  }
  return null;
}

export function isElf(buf: Buffer): boolean {
  return buf.length >= 64 && buf.readUInt32BE(0) === 0x7f454c46;
}

export interface ElfSection {
  readonly name: string;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** The sections of a 64-bit little-endian ELF file (what Linux on x86-64 is). */
export function elfSections(buf: Buffer): ElfSection[] {
  if (!isElf(buf)) throw new Error('not an ELF file');
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  if (shnum === 0) return [];
  if (shentsize < 64 || shoff + shnum * shentsize > buf.length || shstrndx >= shnum) {
    throw new Error('section header table out of bounds');
  }
  const raw: { nameOff: number; type: number; offset: number; size: number }[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    raw.push({
      nameOff: buf.readUInt32LE(h),
      type: buf.readUInt32LE(h + 4),
      offset: Number(buf.readBigUInt64LE(h + 0x18)),
      size: Number(buf.readBigUInt64LE(h + 0x20)),
    });
  }
  const strtab = raw[shstrndx]!;
  return raw.map((s) => ({
    name: cString(buf, strtab.offset + s.nameOff, 256),
    type: s.type,
    offset: s.offset,
    size: s.size,
  }));
}

export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Buffer;
}

/** The notes of the ELF's SHT_NOTE sections. */
export function elfNotes(buf: Buffer): ElfNote[] {
  const notes: ElfNote[] = [];
  for (const s of elfSections(buf)) {
    if (s.type !== 7 || s.offset + s.size > buf.length) continue;
    let p = s.offset;
    const end = s.offset + s.size;
    while (p + 12 <= end) {
      const namesz = buf.readUInt32LE(p);
      const descsz = buf.readUInt32LE(p + 4);
      const type = buf.readUInt32LE(p + 8);
      const nameAt = p + 12;
      const descAt = nameAt + align4(namesz);
      if (descAt + descsz > end) break;
      notes.push({ name: cString(buf, nameAt, namesz), type, desc: buf.subarray(descAt, descAt + descsz) });
      p = descAt + align4(descsz);
    }
  }
  return notes;
}

/** The release from the "Linux version 6.18.15+deb13-cloud-amd64 (...)" banner, or null. */
export function bannerVersion(buf: Buffer): string | null {
  const needle = Buffer.from('Linux version ');
  for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) {
    const m = /^(\d+\.\d+[^\s\0]*)/.exec(buf.toString('latin1', at + needle.length, at + needle.length + 128));
    if (m) return m[1]!;
  }
  return null;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function cString(buf: Buffer, at: number, max: number): string {
  const end = Math.min(buf.length, at + max);
  let z = buf.indexOf(0, at);
  if (z < 0 || z > end) z = end;
  return buf.toString('latin1', at, z);
}
