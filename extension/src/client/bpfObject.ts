// A BPF object file read as libbpf reads it: its programs, where each loaded program's
// instructions come from (libbpf appends the subprograms a program calls after its own code,
// so the verifier's instruction indexes are per program and after that relocation), and the
// line and column of each instruction from .BTF.ext line info.
//
// Pure: Buffers in, plain data out (insnSource.ts runs the tools).

const SHT_SYMTAB = 2;
const SHT_REL = 9;
const SHF_EXECINSTR = 0x4;
const STT_FUNC = 2;
const INSN = 8;
const BTF_MAGIC = 0xeb9f;
const SECTION_SPACING = 0x100000;

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  /** Where sh_flags sits in the file (to clear SHF_EXECINSTR in a copy). */
  readonly headerOffset: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
}

export interface ElfSymbol {
  readonly name: string;
  readonly type: number;
  readonly bind: number;
  readonly section: number;
  readonly value: number;
  readonly size: number;
}

/** One run of a loaded program's instructions: @count instructions from @section at byte @offset. */
export interface Segment {
  readonly section: string;
  readonly offset: number;
  /** The first instruction index of the run in the loaded program. */
  readonly start: number;
  readonly count: number;
  /** The function these instructions belong to. */
  readonly func: string;
}

export interface SourceLine {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

function cString(buf: Buffer, at: number): string {
  let end = at;
  while (end < buf.length && buf[end] !== 0) end++;
  return buf.toString('utf8', at, end);
}

/** The parts of a 64-bit little-endian ELF relocatable object that libbpf reads. */
export class BpfObject {
  readonly sections: readonly ElfSection[];
  readonly symbols: readonly ElfSymbol[];
  private readonly rels = new Map<number, Map<number, ElfSymbol>>();

  constructor(readonly buf: Buffer) {
    if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
    if (buf[4] !== 2 || buf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
    const shoff = Number(buf.readBigUInt64LE(0x28));
    const shentsize = buf.readUInt16LE(0x3a);
    const shnum = buf.readUInt16LE(0x3c);
    const shstrndx = buf.readUInt16LE(0x3e);
    if (shentsize < 64 || shoff + shnum * shentsize > buf.length || shstrndx >= shnum) throw new Error('section header table out of bounds');
    const raw = [];
    for (let i = 0; i < shnum; i++) {
      const h = shoff + i * shentsize;
      raw.push({
        index: i,
        nameOff: buf.readUInt32LE(h),
        type: buf.readUInt32LE(h + 4),
        flags: Number(buf.readBigUInt64LE(h + 8)),
        headerOffset: h + 8,
        offset: Number(buf.readBigUInt64LE(h + 0x18)),
        size: Number(buf.readBigUInt64LE(h + 0x20)),
        link: buf.readUInt32LE(h + 0x28),
        info: buf.readUInt32LE(h + 0x2c),
      });
    }
    const names = raw[shstrndx]!.offset;
    this.sections = raw.map(({ nameOff, ...s }) => ({ ...s, name: cString(buf, names + nameOff) }));
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    const symbols: ElfSymbol[] = [];
    if (symtab) {
      const strtab = this.sections[symtab.link]!;
      for (let at = symtab.offset; at + 24 <= symtab.offset + symtab.size; at += 24) {
        const info = buf[at + 4]!;
        symbols.push({
          name: cString(buf, strtab.offset + buf.readUInt32LE(at)),
          type: info & 0xf,
          bind: info >> 4,
          section: buf.readUInt16LE(at + 6),
          value: Number(buf.readBigUInt64LE(at + 8)),
          size: Number(buf.readBigUInt64LE(at + 16)),
        });
      }
    }
    this.symbols = symbols;
    for (const rel of this.sections.filter((s) => s.type === SHT_REL)) {
      const byOffset = new Map<number, ElfSymbol>();
      for (let at = rel.offset; at + 16 <= rel.offset + rel.size; at += 16) {
        const sym = symbols[Number(buf.readBigUInt64LE(at + 8) >> 32n)];
        if (sym) byOffset.set(Number(buf.readBigUInt64LE(at)), sym);
      }
      this.rels.set(rel.info, byOffset);
    }
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Functions in executable sections. */
  private functions(): ElfSymbol[] {
    return this.symbols.filter((s) => s.type === STT_FUNC && (this.sections[s.section]?.flags ?? 0) & SHF_EXECINSTR);
  }

  /** Entry programs by name: functions outside .text (libbpf treats .text's as subprograms). */
  programs(): string[] {
    return this.functions().filter((f) => this.sections[f.section]?.name !== '.text').map((f) => f.name);
  }

  /** The loaded program @name as libbpf lays it out: its own code, then each subprogram it reaches, depth first. */
  layout(name: string): Segment[] | undefined {
    const funcs = this.functions();
    const main = funcs.find((f) => f.name === name && this.sections[f.section]?.name !== '.text') ?? funcs.find((f) => f.name === name);
    if (!main) return undefined;
    const segments: Segment[] = [];
    const placed = new Set<ElfSymbol>();
    let length = 0;
    const append = (f: ElfSymbol): void => {
      placed.add(f);
      const sec = this.sections[f.section]!;
      const count = Math.floor(f.size / INSN);
      segments.push({ section: sec.name, offset: f.value, start: length, count, func: f.name });
      length += count;
      const rels = this.rels.get(f.section);
      for (let i = 0; i < count; i++) {
        const at = sec.offset + f.value + i * INSN;
        const code = this.buf[at]!;
        const src = this.buf[at + 1]! >> 4;
        const rel = rels?.get(f.value + i * INSN);
        const isCall = code === 0x85 && src === 1; // BPF_PSEUDO_CALL
        // A callback's address (bpf_loop): libbpf makes a 16-byte load relocated against code BPF_PSEUDO_FUNC.
        const isFunc = code === 0x18 && (src === 4 || (rel !== undefined && ((this.sections[rel.section]?.flags ?? 0) & SHF_EXECINSTR) !== 0));
        if (!isCall && !isFunc) continue;
        const imm = this.buf.readInt32LE(at + 4);
        let targetSection = f.section;
        let target: number;
        if (rel) {
          targetSection = rel.section;
          target = isCall ? rel.value / INSN + imm + 1 : (rel.value + imm) / INSN;
        } else {
          target = f.value / INSN + i + imm + 1;
        }
        const callee = funcs.find((g) => g.section === targetSection && g.value <= target * INSN && target * INSN < g.value + Math.max(g.size, INSN));
        if (callee && !placed.has(callee)) append(callee);
      }
    };
    append(main);
    return segments;
  }

  /** The instruction at byte @offset of @section: opcode, registers byte, offset field. */
  insn(section: string, offset: number): { code: number; regs: number; off: number } | undefined {
    const sec = this.section(section);
    if (!sec || offset + INSN > sec.size) return undefined;
    const at = sec.offset + offset;
    return { code: this.buf[at]!, regs: this.buf[at + 1]!, off: this.buf.readInt16LE(at + 2) };
  }

  /** The opcode byte of the instruction at byte @offset of @section. */
  opcode(section: string, offset: number): number | undefined {
    const sec = this.section(section);
    return sec && offset < sec.size ? this.buf[sec.offset + offset] : undefined;
  }

  /**
   * A copy in which every code section has an address of its own (they all start at 0 in an
   * object), so that DWARF tools resolving its relocations see distinct addresses; and the
   * address each section got.
   */
  withSectionAddresses(): { copy: Buffer; address: Map<string, number> } {
    const copy = Buffer.from(this.buf);
    const address = new Map<string, number>();
    let next = SECTION_SPACING;
    for (const s of this.sections) {
      if (!(s.flags & SHF_EXECINSTR)) continue;
      copy.writeBigUInt64LE(BigInt(next), s.headerOffset + 8); // sh_addr follows sh_flags
      address.set(s.name, next);
      next += Math.ceil((s.size + 1) / SECTION_SPACING) * SECTION_SPACING;
    }
    return { copy, address };
  }

  /** The .BTF.ext line info entry covering byte @offset of @section (the line the kernel annotates it with). */
  btfLine(section: string, offset: number): SourceLine | undefined {
    const btf = this.section('.BTF');
    const ext = this.section('.BTF.ext');
    if (!btf || !ext) return undefined;
    const b = this.buf;
    if (b.readUInt16LE(btf.offset) !== BTF_MAGIC || b.readUInt16LE(ext.offset) !== BTF_MAGIC) return undefined;
    const strings = btf.offset + b.readUInt32LE(btf.offset + 4) + b.readUInt32LE(btf.offset + 16);
    const extHdr = b.readUInt32LE(ext.offset + 4);
    const lineOff = ext.offset + extHdr + b.readUInt32LE(ext.offset + 16);
    const lineLen = b.readUInt32LE(ext.offset + 20);
    if (lineLen < 4) return undefined;
    const recSize = b.readUInt32LE(lineOff);
    let at = lineOff + 4;
    const end = lineOff + lineLen;
    while (at + 8 <= end) {
      const secName = cString(b, strings + b.readUInt32LE(at));
      const n = b.readUInt32LE(at + 4);
      at += 8;
      if (secName === section) {
        let best: SourceLine | undefined;
        for (let i = 0; i < n; i++) {
          const r = at + i * recSize;
          if (b.readUInt32LE(r) > offset) break;
          const lineCol = b.readUInt32LE(r + 12);
          best = { file: cString(b, strings + b.readUInt32LE(r + 4)), line: lineCol >>> 10, column: lineCol & 0x3ff };
        }
        return best;
      }
      at += n * recSize;
    }
    return undefined;
  }
}

/** Where instruction @index of a loaded program laid out as @segments sits in the object. */
export function locateInsn(segments: readonly Segment[], index: number): { section: string; offset: number; func: string } | undefined {
  const s = segments.find((g) => index >= g.start && index < g.start + g.count);
  return s && { section: s.section, offset: s.offset + (index - s.start) * INSN, func: s.func };
}
