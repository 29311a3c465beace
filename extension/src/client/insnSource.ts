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
  /** The compiler merged the instruction from several lines of this inlined function (DWARF line 0). */
  readonly merged?: { readonly func: string; readonly file?: string; readonly line?: number };
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
    const at = locateInsn(this.segments, index);
    if (!at) return [];
    if (opcode !== undefined && this.object.opcode(at.section, at.offset) !== opcode) return [];
    const found = symbolize(this.object, this.objectPath, at.section, at.offset);
    // The outermost frame is the function the layout put there; the symbolizer names it from a
    // symbol table where every section's functions start at 0, so it may pick another.
    const dwarf = found.map((f, i) => (i === found.length - 1 ? { ...f, func: at.func } : f));
    const known = dwarf.filter((f) => f.line > 0);
    if (known.length > 0) {
      // Line 0: code the compiler merged from several lines of a function; the first frame
      // with a line is where it is inlined, and the merged function is named in `merged`.
      if (dwarf[0]!.line > 0) return dwarf;
      const inner = dwarf[0]!;
      const merged = inner.func ? { func: inner.func, ...(inner.start ? { file: inner.start.file, line: inner.start.line } : {}) } : undefined;
      return known.map((f, i) => (i === 0 && merged ? { ...f, merged } : f));
    }
    const btf = this.object.btfLine(at.section, at.offset);
    return btf ? [{ ...btf, func: at.func }] : [];
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

/** DWARF's frames for byte @offset of @section; [] when no symbolizer runs. */
function symbolize(object: BpfObject, objectPath: string, section: string, offset: number): SourceFrame[] {
  // llvm-symbolizer looks an address up in the first code section that holds it, and every
  // program's section starts at 0: give it a copy where only this section is code.
  const executables = object.sections.filter((s) => s.flags & 0x4);
  let file = objectPath;
  let tmp: string | undefined;
  if (executables.length > 1) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-symbolize-'));
    file = path.join(tmp, path.basename(objectPath));
    fs.writeFileSync(file, object.onlyExecutable(section));
  }
  try {
    for (const tool of SYMBOLIZERS) {
      const r = spawnSync(tool, [`--obj=${file}`, '--inlining', '--output-style=JSON', `0x${offset.toString(16)}`], { encoding: 'utf8' });
      if (r.error || r.status !== 0) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.stdout);
      } catch {
        return [];
      }
      const symbols = (Array.isArray(parsed) ? (parsed[0] as { Symbol?: SymbolizerFrame[] } | undefined)?.Symbol : undefined) ?? [];
      return symbols
        .filter((s) => s.FileName && s.FileName !== '??')
        .map((s) => ({
          file: s.FileName as string,
          line: s.Line ?? 0,
          column: s.Column ?? 0,
          ...(s.FunctionName && s.FunctionName !== '??' ? { func: s.FunctionName } : {}),
          ...(s.StartFileName && s.StartLine ? { start: { file: s.StartFileName, line: s.StartLine } } : {}),
        }));
    }
    return [];
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
