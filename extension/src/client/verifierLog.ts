// A BPF verifier log as one error a newcomer can act on: the failing instruction, the source
// line the kernel annotated it with, the kernel's own message, a plain sentence on what to do
// (hints only when the log shows their cause), and the instruction that made the value the
// error is about. loader.ts places the instruction more precisely with the object's debug info:
// the kernel's annotation is only the nearest line info, which under -O2 can be another line.
//
// The log is the kernel's (log_level 1, object built with -g), either raw, as a log buffer of
// our own receives it, or wrapped by libbpf's "-- BEGIN PROG LOAD LOG --" / "-- END PROG LOAD
// LOG --" among other output (bpftool). Its shape:
//
//   ; seen = c->hits; @ counters.bpf.c:28          annotation: the source of the instructions below
//   7: (79) r1 = *(u64 *)(r0 +0)                     the failing instruction (no state after it)
//   R0 invalid mem access 'map_value_or_null'        the error, sometimes followed by more lines
//   processed 7 insns (limit 1000000) ...            the end
//
// Pure: no I/O, no dependencies.

export interface VerifierError {
  readonly program: string;
  /** Every instruction the log printed (index -> opcode), to find the program in its object. */
  readonly printed: ReadonlyMap<number, number>;
  /** Source file and line from the nearest "; CODE @ FILE:LINE" annotation before the failing instruction. */
  readonly file?: string;
  readonly line?: number;
  /** The annotated source text (the part before " @ "). */
  readonly sourceText?: string;
  /** Index of the failing instruction. */
  readonly insn?: number;
  /** The failing instruction as the log prints it, e.g. "(79) r3 = *(u64 *)(r0 +0)". */
  readonly insnText?: string;
  /** Its opcode byte (the "(79)"), to check it against the object. */
  readonly opcode?: number;
  /** Where the failing register's value came from, when the log shows it (a lookup that may fail). */
  readonly origin?: VerifierOrigin;
  /** The kernel's own error line. */
  readonly message: string;
  /** One or two sentences a newcomer can act on. */
  readonly summary: string;
  /** The register state printed for the failing instruction, if any. */
  readonly registers?: string;
  /** The log looks cut short: no "processed N insns" line. */
  readonly truncated: boolean;
  readonly processedInsns?: number;
}

/** The instruction that made the value the error is about: a map lookup, a helper's or kfunc's return. */
export interface VerifierOrigin {
  readonly insn: number;
  readonly opcode?: number;
  /** The helper or kfunc called there ("bpf_map_lookup_elem"), if it is a call. */
  readonly call?: string;
  /** The type the verifier gave the value ("map_value_or_null"). */
  readonly type: string;
  /** The kernel's annotation above it. */
  readonly file?: string;
  readonly line?: number;
}

// "7: (79) r1 = *(u64 *)(r0 +0)   ; R0=..." and libbpf's rewrites of poisoned instructions,
// "1: <invalid CO-RE relocation>".
const INSN = /^(\d+): (\([0-9a-f]{2}\) .*|<[^>]*>.*)$/;
// Any other "N: ..." line: a state ("24: R0=... R10=fp0", "10: frame1: R1=..."), "19: safe".
const NUMBERED = /^\d+: /;
const PROCESSED = /^processed (\d+) insns?\b/;
const BEGIN = /-- BEGIN PROG LOAD LOG --/;
const END = /-- END PROG LOAD LOG --/;

/** Lines the kernel prints around the path it walks, which are neither the error nor an instruction. */
const STRUCTURE: readonly RegExp[] = [
  /^from \d+ to \d+:/, // the state at a branch target
  /^(caller|callee):$/,
  /^returning from callee:$/,
  /^to caller at \d+:$/,
  /^\s+(frame\d+: )?R\d+/, // indented states of caller and callee
  /^\s+frame\d+:/,
];

/** Informational lines that are never the error (some are printed before the walk, some after). */
const NOISE: readonly RegExp[] = [
  /^libbpf: /,
  /^(Error|Warning): /,
  /^If it used to work for this object file/,
  /^arg#\d+ reference type\('[^']*'\) size cannot be determined/, // kfunc argument errors also start "arg#N"
  /^func#\d+ @\d+$/,
  /^Func#\d+ /,
  /^func '[^']*' arg\d+ has btf_id/,
  /^Validating .* func#\d+/,
  /^Live regs before insn:$/,
  /^\s+\d+: [.0-9]+ \(/, // liveness table rows
  /^verification time /,
  /^stack depth /,
  /^mark_precise: /,
  /^last_idx /,
  /^regs=/,
  /^propagating /,
  /^parent didn't have regs=/,
  /^\s*$/,
];

const matchesAny = (patterns: readonly RegExp[], l: string): boolean => patterns.some((p) => p.test(l));
const isAnnotation = (l: string): boolean => l.startsWith(';');
const isStructural = (l: string): boolean => NUMBERED.test(l) || isAnnotation(l) || matchesAny(STRUCTURE, l);
const isNoise = (l: string): boolean => matchesAny(NOISE, l) || BEGIN.test(l) || END.test(l);
const isMessage = (l: string): boolean => !isStructural(l) && !isNoise(l);

/** The kernel's lines: what lies between libbpf's BEGIN and END markers when there are some. */
function logLines(log: string): string[] {
  const all = log.split('\n').map((l) => l.replace(/\s+$/, ''));
  let begin = -1;
  for (let i = all.length - 1; i >= 0; i--) {
    if (BEGIN.test(all[i] as string)) {
      begin = i;
      break;
    }
  }
  if (begin < 0) return all;
  let end = all.length;
  for (let i = begin + 1; i < all.length; i++) {
    if (END.test(all[i] as string)) {
      end = i;
      break;
    }
  }
  return all.slice(begin + 1, end);
}

interface Annotation {
  readonly file?: string;
  readonly line?: number;
  readonly sourceText: string;
}

/** "; TEXT @ FILE:LINE" (or "; TEXT" from kernels that name no file). */
function parseAnnotation(l: string): Annotation {
  const body = l.replace(/^;\s?/, '');
  const at = body.lastIndexOf(' @ ');
  if (at >= 0) {
    const where = /^(.+):(\d+)$/.exec(body.slice(at + 3));
    if (where) return { file: where[1] as string, line: Number(where[2]), sourceText: body.slice(0, at).trim() };
  }
  return { sourceText: body.trim() };
}

/** The nearest annotation above line @from. */
function annotationAbove(lines: readonly string[], from: number): Annotation | undefined {
  for (let i = from - 1; i >= 0; i--) {
    const l = lines[i] as string;
    if (isAnnotation(l)) return parseAnnotation(l);
  }
  return undefined;
}

interface Insn {
  readonly at: number; // line index in the log
  readonly index: number;
  readonly text: string;
  readonly registers?: string;
}

function parseInsn(lines: readonly string[], at: number): Insn | undefined {
  const m = INSN.exec(lines[at] as string);
  if (!m) return undefined;
  const index = Number(m[1]);
  let text = m[2] as string;
  let registers: string | undefined;
  const semi = text.indexOf(' ; ');
  if (semi >= 0) {
    registers = text.slice(semi + 3).trim() || undefined;
    text = text.slice(0, semi);
  } else {
    // A conditional jump prints its target's state after it: "if r0 != 0x0 goto pc+3 14: R0=1 ...".
    const jump = /^(.*\bgoto pc[+-]\d+)\s+\d+: .*$/.exec(text);
    if (jump) text = jump[1] as string;
  }
  text = text.trim();
  if (registers === undefined) {
    // The state the kernel printed on entering this instruction: "24: R0=... R10=fp0",
    // "from 12 to 24: R0=..." after a branch, or "... goto pc+3 24: R0=..." on the jump's line.
    const state = new RegExp(`^(?:(?:from \\d+ to )?|.*\\bgoto pc[+-]\\d+\\s+)${index}: (.*R\\d+=.*)$`);
    for (let i = at - 1; i >= 0; i--) {
      const l = lines[i] as string;
      const s = state.exec(l);
      if (s) {
        registers = (s[1] as string).trim();
        break;
      }
      if (INSN.test(l)) break;
    }
  }
  return { at, index, text, ...(registers ? { registers } : {}) };
}

/** The register an instruction reads memory through: r0 in "r1 = *(u64 *)(r0 +16)". */
function memoryBase(insnText: string | undefined): string | undefined {
  const m = insnText ? /\*\([a-z0-9]+ \*\)\((r\d+) [+-]\d+\)/.exec(insnText) : null;
  return m ? `R${(m[1] as string).slice(1)}` : undefined;
}

/** The first register an error's lines name ("R0 min value is outside ..."). */
function namedRegister(lines: readonly string[]): string | undefined {
  for (const l of lines) {
    const m = /\bR(\d+)\b/.exec(l);
    if (m) return `R${m[1]}`;
  }
  return undefined;
}

/** The register an error is about: named by the message, else the one the instruction reads memory through. */
function faultingRegister(message: string, insnText: string | undefined): string | undefined {
  // "Possibly NULL pointer passed to trusted arg0": argument N travels in register N + 1.
  const arg = /NULL pointer passed to .*\barg(\d+)\b/.exec(message)?.[1];
  return /^(R\d+) /.exec(message)?.[1] ?? (arg !== undefined ? `R${Number(arg) + 1}` : memoryBase(insnText));
}

/** The opcode byte of an instruction's text, "(79) r1 = ..." -> 0x79. */
function opcodeOf(text: string | undefined): number | undefined {
  const m = text ? /^\(([0-9a-f]{2})\)/.exec(text) : null;
  return m ? parseInt(m[1] as string, 16) : undefined;
}

/**
 * Where @reg's value at log line @at came from: the verifier numbers every value that may be
 * NULL (`map_value_or_null(id=2,...)`), and the first instruction whose state shows that id
 * made it.
 */
function originOf(lines: readonly string[], at: number, reg: string | undefined): VerifierOrigin | undefined {
  if (!reg) return undefined;
  const typed = new RegExp(`\\b${reg}(?:_w)?=([a-z_0-9]*or_null[a-z_0-9]*)\\(id=(\\d+)[,)]`);
  let id: string | undefined;
  for (let i = at; i >= 0 && id === undefined; i--) {
    const m = typed.exec(lines[i] as string);
    if (m) id = m[2];
  }
  if (id === undefined) return undefined;
  const made = new RegExp(`\\bR\\d+(?:_w)?=([a-z_0-9]*or_null[a-z_0-9]*)\\(id=${id}[,)]`);
  for (let i = 0; i <= at; i++) {
    const l = lines[i] as string;
    const m = made.exec(l);
    const insn = m ? parseInsn(lines, i) : undefined;
    if (!m || !insn) continue;
    const a = annotationAbove(lines, i);
    const call = /\bcall ([A-Za-z_][A-Za-z0-9_]*?)(?:#\d+)?$/.exec(insn.text)?.[1];
    const opcode = opcodeOf(insn.text);
    return {
      insn: insn.index,
      ...(opcode !== undefined ? { opcode } : {}),
      ...(call ? { call } : {}),
      type: m[1] as string,
      ...(a?.file !== undefined ? { file: a.file, line: a.line } : {}),
    };
  }
  return undefined;
}

/** @reg was last loaded from a map value before log line @at ("r1 = *(u64 *)(r2 +8)" with R2=map_value). */
function loadedFromMapValue(lines: readonly string[], at: number, reg: string | undefined): boolean {
  if (!reg) return false;
  const dst = `r${reg.slice(1)}`;
  for (let i = at - 1; i >= 0; i--) {
    const insn = parseInsn(lines, i);
    if (!insn) continue;
    const m = new RegExp(`^\\([0-9a-f]{2}\\) ${dst} = \\*\\([a-z0-9]+ \\*\\)\\((r\\d+) [+-]\\d+\\)`).exec(insn.text);
    if (m) return new RegExp(`\\bR${(m[1] as string).slice(1)}(?:_w)?=map_value\\(`).test(`${insn.registers ?? ''} ${lines[i]}`);
    if (new RegExp(`^\\([0-9a-f]{2}\\) ${dst} `).test(insn.text)) return false;
  }
  return false;
}

interface Context {
  readonly message: string;
  /** The error's other lines, after the message. */
  readonly more: readonly string[];
  readonly insnText?: string;
  /** The whole log, for looking up other instructions (an allocation site). */
  readonly lines: readonly string[];
  /** The failing instruction's line in the log. */
  readonly at: number;
}

const TOO_COMPLEX =
  'The program has too many paths for the verifier to explore: give loops a small constant bound or use bpf_loop(), and split the work into smaller functions.';

/** Where the instruction @index of the log was, "file.c:15 (bpf_ringbuf_reserve)", if it is printed. */
function describeInsn(lines: readonly string[], index: number): string | undefined {
  const at = lines.findIndex((l) => l.startsWith(`${index}: (`));
  if (at < 0) return undefined;
  const a = annotationAbove(lines, at);
  const call = /\bcall ([A-Za-z_][A-Za-z0-9_]*)/.exec(lines[at] as string)?.[1];
  const where = a?.file !== undefined ? `${a.file}:${a.line}` : undefined;
  if (where && call) return `${where} (${call})`;
  return where ?? (call ? `instruction ${index} (${call})` : undefined);
}

/** The sentence for an error; names the register whenever the log lets us. */
function explain(c: Context): string {
  const { message } = c;
  const reg = namedRegister([message]) ?? namedRegister(c.more) ?? memoryBase(c.insnText);
  const r = reg ?? 'This pointer';
  let m: RegExpExecArray | null;

  if ((m = /invalid mem access '([a-z_]*or_null[a-z_]*)'/.exec(message))) {
    return `${r} may be NULL here (the result of a map lookup or helper that can fail): check it against NULL before reading through it.`;
  }
  if (/invalid mem access '(scalar|inv)'/.test(message)) {
    // The uptr pitfall only when the number was read out of a map value, as a uptr field is.
    const uptr = loadedFromMapValue(c.lines, c.at, reg)
      ? ' (it was read from a map value: a uptr field whose struct is only forward-declared becomes a number; define the struct in full)'
      : c.lines.some((l) => /\bcall bpf_get_current_task#/.test(l))
        ? ' (bpf_get_current_task() returns a plain number: use bpf_get_current_task_btf(), or read through bpf_probe_read_kernel())'
        : '';
    return `${reg ?? 'This register'} is a plain number here, not a pointer the verifier can check: make sure it holds a pointer${uptr}.`;
  }
  if ((m = /^(R\d+) type=([a-z_]*or_null[a-z_]*) expected=(.*)$/.exec(message))) {
    return `${m[1]} may be NULL here (${m[2]}) but this call needs a valid pointer: check it against NULL before passing it.`;
  }
  if ((m = /^(R\d+) type=(scalar|inv) expected=(.*)$/.exec(message))) {
    const current = c.lines.some((l) => /\bcall bpf_get_current_task#/.test(l))
      ? ' (for the current task, bpf_get_current_task_btf() rather than bpf_get_current_task())'
      : '';
    return `${m[1]} is a plain number here, but this call needs a pointer (${m[3]}): pass a pointer the verifier tracks${current}.`;
  }
  if ((m = /^(R\d+) type=(\S+) expected=(.*)$/.exec(message))) {
    return `${m[1]} holds a ${m[2]} here, but this call expects ${m[3]}: pass an argument of the type the helper or kfunc takes.`;
  }
  if ((m = /invalid access to map value, value_size=(\d+) off=(-?\d+) size=(\d+)/.exec(message))) {
    return `${r} points into a map value of ${m[1]} bytes, and the access of ${m[3]} bytes at offset ${m[2]} goes outside it: fix the offset, or add a bounds check the verifier can see (compare the index with the array's length) before the access.`;
  }
  if ((m = /invalid access to memory, mem_size=(\d+) off=(-?\d+) size=(\d+)/.exec(message))) {
    return `${r} points to ${m[1]} bytes of memory, and the access of ${m[3]} bytes at offset ${m[2]} can go outside them: add a bounds check the verifier can see so offset + size stays within ${m[1]}${c.lines.some((l) => /\btld_lookup/.test(l)) ? ' (for a tld_lookup() hint, read no more bytes than the size you looked it up with)' : ''}.`;
  }
  if ((m = /invalid access to packet, off=(-?\d+) size=(\d+)/.exec(message))) {
    return `${r} reads ${m[2]} bytes at offset ${m[1]} of the packet without a check the verifier can see: compare the pointer plus the size with data_end before the access.`;
  }
  if (/invalid (indirect )?read from stack|invalid stack|uninitialized stack|invalid indirect access to stack/.test(message)) {
    return `Stack memory ${reg ? `reached through ${reg} ` : ''}is read before it was written, or outside its bounds: initialise the variable or buffer (e.g. = {} or __builtin_memset) before passing it on.`;
  }
  if (/min value is negative/.test(message)) {
    return `${reg ?? 'This value'} may be negative here (a signed value checked only from above): use an unsigned type, or check it is >= 0 (or mask it with var &= const) before using it as a size or index.`;
  }
  if ((m = /math between (\S+) pointer and register with unbounded (min|max) value is not allowed/.exec(message))) {
    const ops = c.insnText ? /\b(r\d+) [-+]= (r\d+)/.exec(c.insnText) : null;
    const index = ops ? `R${(ops[2] as string).slice(1)}` : 'The index';
    const ptr = ops ? ` in R${(ops[1] as string).slice(1)}` : '';
    return m[2] === 'min'
      ? `${index} may be negative here (it has no lower bound), so adding it to the ${m[1]} pointer${ptr} cannot be checked: use an unsigned index, or check it is >= 0 as well as below the limit.`
      : `${index} has no upper bound here, so adding it to the ${m[1]} pointer${ptr} cannot be checked: compare it with the limit before using it.`;
  }
  if (/unbounded memory access|(min|max) value is outside of the allowed memory range|unbounded min value|unbounded max value/.test(message)) {
    return `The offset used with ${r} can reach outside the memory it points into: check the index against both ends (>= 0 and < the size) before the access.`;
  }
  if (/^R0 !read_ok/.test(message) && c.insnText?.includes('exit')) {
    return 'The function returns without setting its return value on this path: return a value on every path.';
  }
  if (/!read_ok/.test(message)) {
    return `${reg ?? 'A register'} is read before anything was written to it on this path: set it on every path before it is used (an uninitialised variable, or a helper's result used after another call).`;
  }
  if ((m = /^unreachable insn (\d+)/.exec(message))) {
    return `Instruction ${m[1]} can never run, and the verifier rejects dead code: remove it, or check the conditions (and inline assembly) around it.`;
  }
  if (/^back-edge from insn|^infinite loop detected/.test(message)) {
    return 'The verifier cannot prove this loop ends: give it a constant bound the verifier can see, or use bpf_loop().';
  }
  if (/jumps is too complex|BPF program is too large|program is too complex|too many states/.test(message)) {
    return TOO_COMPLEX;
  }
  if ((m = /combined stack size of \d+ calls is (\d+)/.exec(message))) {
    return `The functions on this call chain use ${m[1]} bytes of stack, more than the 512 allowed: move large buffers into a map (e.g. a per-CPU array) or make the functions use less stack.`;
  }
  if ((m = /^Unreleased reference id=\d+ alloc_insn=(\d+)/.exec(message))) {
    const where = describeInsn(c.lines, Number(m[1]));
    return `An object acquired ${where ? `at ${where}` : `at instruction ${m[1]}`} is not released on every path: release it (bpf_ringbuf_submit/discard, bpf_task_release, bpf_sk_release, ...) before each return, including the early ones.`;
  }
  if (/reference leak|unreleased reference/i.test(message)) {
    return 'An acquired object (a reference, a lock, a ring buffer reservation) is not released on every path: release it before each return.';
  }
  if ((m = /^failed to resolve CO-RE relocation .*?\] (.+?)(?: \([^)]*\))?$/.exec(message))) {
    return `This kernel has no ${m[1]} (a CO-RE relocation failed): check it exists with bpf_core_field_exists() / bpf_core_type_exists() before using it, or use what this kernel has.`;
  }
  if (/^invalid func unknown#195896080/.test(message)) {
    return 'A field or type this program reads does not exist on this kernel (a CO-RE relocation failed): check it with bpf_core_field_exists() before using it.';
  }
  if ((m = /^(?:unknown func|invalid func) (\S+?)(?:#\d+)?$/.exec(message)) ||
      (m = /^program of this type cannot use helper (\S+?)(?:#\d+)?$/.exec(message)) ||
      (m = /^calling kernel function (\S+) is not allowed/.exec(message)) ||
      (m = /^helper call (?:is not allowed|might sleep) in (\S+)/.exec(message))) {
    return `This program type cannot call ${m[1]}: use a helper or kfunc it allows, or move the call to a program type that may make it.`;
  }
  if ((m = /^BPF map '([^']*)' is referenced but wasn't created/.exec(message))) {
    return `The map '${m[1]}' was not created, so the program cannot use it: see why its creation failed (libbpf's earlier messages), or create it before loading.`;
  }
  if (/^At program exit the register R0/.test(message)) {
    return 'The program returns a value its hook does not accept: return one of the values this program type allows on every path.';
  }
  if (/Possibly NULL pointer passed/.test(message)) {
    return `${message.replace(/^Possibly NULL pointer passed to /, 'The ')} may be NULL here: check it against NULL before the call.`;
  }
  return `The verifier rejected this instruction: ${message}`;
}

/** Every instruction the log prints, index -> opcode byte: enough to tell which program of an object it is. */
export function printedOpcodes(log: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of logLines(log)) {
    const m = /^(\d+): \(([0-9a-f]{2})\) /.exec(l);
    if (m) out.set(Number(m[1]), parseInt(m[2] as string, 16));
  }
  return out;
}

/** The error in @log, mapped to its source line; undefined when the log holds no error. */
export function parseVerifierLog(log: string, program: string): VerifierError | undefined {
  const lines = logLines(log);
  let processedAt = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (PROCESSED.test(lines[i] as string)) {
      processedAt = i;
      break;
    }
  }
  const truncated = processedAt < 0;
  const processedInsns = truncated ? undefined : Number(PROCESSED.exec(lines[processedAt] as string)?.[1]);

  // The error: the run of message lines just before "processed" (after trailing statistics),
  // whose first line is the kernel's own error; more lines may follow it ("R0 min value is
  // outside of the allowed memory range", "BPF_EXIT instruction ... would lead to reference leak").
  let last = (truncated ? lines.length : processedAt) - 1;
  while (last >= 0 && isNoise(lines[last] as string)) last--;
  let first = last + 1;
  while (first > 0 && isMessage(lines[first - 1] as string)) first--;
  const block = lines.slice(first, last + 1);

  // The failing instruction: the last one before the error.
  let insn: Insn | undefined;
  for (let i = first - 1; i >= 0 && !insn; i--) insn = parseInsn(lines, i);

  if (block.length === 0) {
    // A log cut short in the middle of the walk still says where the verifier was.
    if (!truncated || !insn) return undefined;
    const a = annotationAbove(lines, insn.at);
    return {
      program,
      printed: printedOpcodes(log),
      ...(a?.file !== undefined ? { file: a.file, line: a.line } : {}),
      ...(a ? { sourceText: a.sourceText } : {}),
      insn: insn.index,
      insnText: insn.text,
      ...(opcodeOf(insn.text) !== undefined ? { opcode: opcodeOf(insn.text) } : {}),
      message: 'the log ends before the verifier printed its error',
      summary:
        'The verifier log was cut short before its error: load again with a bigger log buffer to see why the program was rejected; the last instruction it checked is shown.',
      ...(insn.registers ? { registers: insn.registers } : {}),
      truncated,
    };
  }

  const message = (block[0] as string).trim();
  const more = block.slice(1).map((l) => l.trim());
  let insnIndex = insn?.index;
  if (insnIndex === undefined) {
    // Errors found before the walk (the control flow check) name their instruction.
    const named = /^(?:unreachable insn|back-edge from insn|infinite loop detected at insn) (\d+)/.exec(message);
    if (named) insnIndex = Number(named[1]);
  }
  const a = insn ? annotationAbove(lines, insn.at) : undefined;
  const opcode = opcodeOf(insn?.text);
  const origin = insn ? originOf(lines, insn.at, faultingRegister(message, insn.text)) : undefined;
  return {
    program,
    printed: printedOpcodes(log),
    ...(a?.file !== undefined ? { file: a.file, line: a.line } : {}),
    ...(a ? { sourceText: a.sourceText } : {}),
    ...(insnIndex !== undefined ? { insn: insnIndex } : {}),
    ...(insn ? { insnText: insn.text } : {}),
    ...(opcode !== undefined ? { opcode } : {}),
    ...(origin ? { origin } : {}),
    message,
    summary: explain({ message, more, lines, at: insn?.at ?? first, ...(insn ? { insnText: insn.text } : {}) }),
    ...(insn?.registers ? { registers: insn.registers } : {}),
    truncated,
    ...(processedInsns !== undefined ? { processedInsns } : {}),
  };
}
