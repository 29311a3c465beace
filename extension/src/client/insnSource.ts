// Where an instruction of a loaded BPF program comes from in the source: its line and column,
// and, for code inlined from other functions, the chain of call sites. The object's DWARF
// (llvm-symbolizer --inlining) answers first; its .BTF.ext line info when the tool is missing.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BpfObject, Segment, SourceLine, locateInsn } from './bpfObject';

export interface SourceFrame extends SourceLine {
  /** The function the line is in (for an inlined frame, the inlined function). */
  readonly func?: string;
  /** Where that function begins. */
  readonly start?: { readonly file: string; readonly line: number };
  /**
   * The compiler merged the instruction from several lines of this inlined function (DWARF
   * line 0): `twin` when this frame is the same access elsewhere, with the line it has there;
   * else `file`/`line` say where the function begins.
   */
  readonly merged?: { readonly func: string; readonly twin?: boolean; readonly file?: string; readonly line?: number };
}

/** The instructions of one loaded program, looked up in its object. */
export class ProgramSource {
  private constructor(
    /** The program's name (the one whose instructions the log printed). */
    readonly name: string,
    private readonly object: BpfObject,
    private readonly segments: readonly Segment[],
    private readonly objectPath: string,
  ) {}

  /**
   * The program of @objectPath whose instructions are the ones a verifier log printed
   * (@printed: index -> opcode), trying @preferred (the name the loader reported) first;
   * undefined when the object cannot be read or no program fits.
   */
  static open(objectPath: string, preferred: string, printed: ReadonlyMap<number, number>): ProgramSource | undefined {
    let object: BpfObject;
    try {
      object = new BpfObject(fs.readFileSync(objectPath));
    } catch {
      return undefined;
    }
    const names = [preferred, ...object.programs().filter((p) => p !== preferred)];
    for (const name of names) {
      const segments = object.layout(name);
      if (!segments) continue;
      const fits = [...printed].every(([index, opcode]) => {
        const at = locateInsn(segments, index);
        return at !== undefined && object.opcode(at.section, at.offset) === opcode;
      });
      if (fits) return new ProgramSource(name, object, segments, objectPath);
    }
    return undefined;
  }

  /**
   * Instruction @index: innermost frame first, then the call sites it was inlined into.
   * @opcode is the byte the log printed for it ("(79)"); a different byte in the object means
   * the layout is not libbpf's, and nothing is claimed.
   */
  frames(index: number, opcode?: number): SourceFrame[] {
    return this.framesOf([{ index, ...(opcode !== undefined ? { opcode } : {}) }])[0] ?? [];
  }

  /** frames() of several instructions, with one run of the symbolizer. */
  framesOf(insns: readonly { index: number; opcode?: number }[]): SourceFrame[][] {
    const places = insns.map(({ index, opcode }) => {
      const at = locateInsn(this.segments, index);
      return at && (opcode === undefined || this.object.opcode(at.section, at.offset) === opcode) ? at : undefined;
    });
    const wanted = places.filter((p): p is NonNullable<typeof p> => p !== undefined);
    const found = symbolize(this.object, this.objectPath, wanted);
    return places.map((at, i) => {
      if (!at) return [];
      return this.place(insns[i]!.index, at, found[wanted.indexOf(at)] ?? []);
    });
  }

  /** Instruction @index at @at, given DWARF's frames for it. */
  private place(index: number, at: { section: string; offset: number; func: string }, found: SourceFrame[]): SourceFrame[] {
    const dwarf = this.named(found, at.func);
    const known = dwarf.filter((f) => f.line > 0);
    if (known.length === 0) {
      const btf = this.object.btfLine(at.section, at.offset);
      return btf ? [{ ...btf, func: at.func }] : [];
    }
    const inner = dwarf[0] as SourceFrame;
    if (inner.line > 0) return dwarf;
    // Line 0: the compiler merged this instruction from several lines of the inlined function
    // (often two inlined copies of it). The same access elsewhere in the program with a line of
    // that function's says which statement it is; else the function is named.
    const twin = inner.func ? this.twin(index, at, inner.func) : undefined;
    if (twin) return [{ ...twin, merged: { func: inner.func as string, twin: true } }, ...known];
    const merged = inner.func ? { func: inner.func, ...(inner.start ? { file: inner.start.file, line: inner.start.line } : {}) } : undefined;
    return known.map((f, i) => (i === 0 && merged ? { ...f, merged } : f));
  }

  /** The outermost frame is the function the layout put there (symbol tables name another at 0). */
  private named(frames: SourceFrame[], func: string): SourceFrame[] {
    return frames.map((f, i) => (i === frames.length - 1 ? { ...f, func } : f));
  }

  /** Another instruction of the program doing the same memory access, placed on a line of @func. */
  private twin(index: number, at: { section: string; offset: number }, func: string): SourceFrame | undefined {
    const insn = this.object.insn(at.section, at.offset);
    // Loads and stores through a register: the access is the opcode, the base register and the
    // offset (a load's base is its source register, a store's its destination).
    const base = (x: { code: number; regs: number }): number => ((x.code & 7) === 1 ? x.regs >> 4 : x.regs & 0xf);
    if (!insn || ![0x61, 0x69, 0x71, 0x79, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b].includes(insn.code)) return undefined;
    const candidates: { index: number; section: string; offset: number }[] = [];
    for (const seg of this.segments) {
      for (let i = 0; i < seg.count; i++) {
        const offset = seg.offset + i * 8;
        const other = this.object.insn(seg.section, offset);
        if (seg.start + i !== index && other && other.code === insn.code && other.off === insn.off && base(other) === base(insn)) {
          candidates.push({ index: seg.start + i, section: seg.section, offset });
        }
      }
    }
    const found = symbolize(this.object, this.objectPath, candidates);
    const placed = candidates
      .map((c, i) => ({ c, inner: found[i]?.[0] }))
      .filter((x): x is { c: (typeof candidates)[number]; inner: SourceFrame } => x.inner !== undefined && x.inner.line > 0 && x.inner.func === func)
      .sort((a, b) => Math.abs(a.c.index - index) - Math.abs(b.c.index - index));
    return placed[0]?.inner;
  }
}

interface SymbolizerFrame {
  readonly FileName?: string;
  readonly FunctionName?: string;
  readonly Line?: number;
  readonly Column?: number;
  readonly StartFileName?: string;
  readonly StartLine?: number;
}

const SYMBOLIZERS = ['llvm-symbolizer-19', 'llvm-symbolizer'];

/** DWARF's frames for each of @places (byte offsets in code sections), in one run; [] each when no symbolizer runs. */
function symbolize(object: BpfObject, objectPath: string, places: readonly { section: string; offset: number }[]): SourceFrame[][] {
  if (places.length === 0) return [];
  // Every code section of an object starts at 0, and llvm-symbolizer would mix up the
  // functions (and inline chains) of different sections: give it a copy whose code sections
  // have addresses of their own.
  const { copy, address } = object.withSectionAddresses();
  const addresses = places.map((p) => address.get(p.section));
  if (addresses.some((a) => a === undefined)) return places.map(() => []);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-symbolize-'));
  const file = path.join(tmp, path.basename(objectPath));
  fs.writeFileSync(file, copy);
  try {
    for (const tool of SYMBOLIZERS) {
      const args = [`--obj=${file}`, '--inlining', '--output-style=JSON', ...places.map((p, i) => `0x${((addresses[i] as number) + p.offset).toString(16)}`)];
      const r = spawnSync(tool, args, { encoding: 'utf8' });
      if (r.error || r.status !== 0) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.stdout);
      } catch {
        return places.map(() => []);
      }
      const results = Array.isArray(parsed) ? (parsed as { Symbol?: SymbolizerFrame[] }[]) : [];
      return places.map((_, i) =>
        (results[i]?.Symbol ?? [])
          .filter((s) => s.FileName && s.FileName !== '??')
          .map((s) => ({
            file: s.FileName as string,
            line: s.Line ?? 0,
            column: s.Column ?? 0,
            ...(s.FunctionName && s.FunctionName !== '??' ? { func: s.FunctionName } : {}),
            ...(s.StartFileName && s.StartLine ? { start: { file: s.StartFileName, line: s.StartLine } } : {}),
          })),
      );
    }
    return places.map(() => []);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
