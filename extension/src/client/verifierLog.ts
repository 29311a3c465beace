// A BPF verifier log as one error a newcomer can act on: the failing instruction, the source
// line the kernel annotated it with, and a plain sentence on what to do.

export interface VerifierError {
  readonly program: string;
  /** Source file and line from the nearest "; CODE @ FILE:LINE" annotation before the failure. */
  readonly file?: string;
  readonly line?: number;
  readonly sourceText?: string;
  readonly insn?: number;
  readonly insnText?: string;
  /** The kernel's own error line. */
  readonly message: string;
  readonly summary: string;
  /** The register state printed with the failing instruction. */
  readonly registers?: string;
  /** No "processed N insns" line: the log was cut short. */
  readonly truncated: boolean;
  readonly processedInsns?: number;
}

const INSN = /^(\d+): (\([0-9a-f]{2}\) [^;]*?)\s*(?:;\s*(.*))?$/;
const STATE = /^(\d+): (?:frame\d+: )?R\d+/;
const ANNOTATION = /^; (.*) @ (.+):(\d+)$/;
const PROCESSED = /^processed (\d+) insns/;
const NOISE = /^(--|libbpf: |func#|caller:|callee:|returning from callee:|to caller at|last_idx|regs=|propagating|mark_precise|from \d+ to \d+:|Validating |Func#|\s*frame\d+:|verification time|stack depth|arg#\d)/;

/** The sentence for a kernel error message; names the register when there is one. */
export function explain(message: string): string {
  const reg = /\b(R\d+)\b/.exec(message)?.[1];
  const r = reg ?? 'a register';
  if (/invalid mem access '(map_value_or_null|ptr_or_null|mem_or_null|[a-z_]*_or_null)'/.test(message)) {
    return `${r} may be NULL here (the result of a lookup or helper that can fail): check it against NULL before reading through it.`;
  }
  if (/invalid mem access 'scalar'/.test(message) || /invalid mem access 'inv'/.test(message)) {
    return `${r} is a plain number here, not a pointer the verifier can check: make sure it holds a pointer (a uptr field whose struct is only forward-declared becomes a number; define the struct in full).`;
  }
  let m = /invalid access to map value, value_size=(\d+) off=(-?\d+) size=(\d+)/.exec(message);
  if (m) {
    return `The access of ${m[3]} bytes at offset ${m[2]} goes past the map value's ${m[1]} bytes: add a bounds check the verifier can see before the access.`;
  }
  m = /invalid access to memory, mem_size=(\d+) off=(-?\d+) size=(\d+)/.exec(message);
  if (m) {
    return `The access of ${m[3]} bytes at offset ${m[2]} can go past the ${m[1]} bytes of this memory (for a hint: read no more bytes than the lookup asked for): bound the offset so offset + size stays within it.`;
  }
  if (/max value is outside of the allowed memory range|min value is outside of the allowed memory range/.test(message)) {
    return `The offset in ${r} can reach outside the memory it points into: check its upper and lower bounds before the access.`;
  }
  if (/min value is negative/.test(message)) {
    return `The index in ${r} may be negative: use an unsigned type, or mask it (var &= const) or check it is >= 0 first.`;
  }
  if (/!read_ok/.test(message)) {
    return `${r} is read before anything was written to it on this path: initialise it on every path.`;
  }
  if (/unreachable insn/.test(message)) {
    return 'Some instructions can never run: remove the dead code, or check the conditions around it.';
  }
  if (/back-edge from insn/.test(message) || /infinite loop detected/.test(message)) {
    return 'The verifier cannot prove this loop ends: give it a constant bound, or use bpf_loop().';
  }
  if (/too complex|BPF program is too large|jumps is too complex/.test(message)) {
    return 'The program has too many paths for the verifier to explore: bound loops tightly or use bpf_loop(), and split work into smaller functions.';
  }
  if (/Unreleased reference/.test(message)) {
    return 'An object acquired here (a task, a socket, a ring buffer reservation) is not released on every path: release it before each return.';
  }
  if (/unknown func/.test(message) || /cannot use helper|cannot call|helper call is not allowed|not allowed in/.test(message)) {
    return `This program type may not call that function: ${message}. Use another helper or another program type.`;
  }
  if (/invalid stack/.test(message) || /invalid indirect read from stack/.test(message)) {
    return 'Stack memory is read before it was initialised, or outside its bounds: zero the buffer before passing it on.';
  }
  if (/R0 !read_ok|At program exit the register R0/.test(message)) {
    return 'The program must return a value the hook accepts: set the return value on every path.';
  }
  return `The verifier rejected this instruction: ${message}`;
}

function isLogLine(l: string): boolean {
  return INSN.test(l) || STATE.test(l) || ANNOTATION.test(l) || NOISE.test(l) || l.startsWith(';');
}

/** The error in @log (log_level 1, object built with -g), or undefined when it holds none. */
export function parseVerifierLog(log: string, program: string): VerifierError | undefined {
  const lines = log.split('\n').map((l) => l.replace(/\s+$/, ''));
  const processedAt = lines.findIndex((l) => PROCESSED.test(l));
  const truncated = processedAt < 0;
  const end = truncated ? lines.length : processedAt;
  // The error: the last line before "processed" that is not an instruction, a state or noise.
  let errAt = -1;
  for (let i = end - 1; i >= 0; i--) {
    const l = lines[i] as string;
    if (l.trim() === '') continue;
    if (isLogLine(l)) {
      if (INSN.test(l) || STATE.test(l)) break;
      continue;
    }
    errAt = i;
    // Some errors take two lines ("invalid access ..." then "R7 max value is outside ..."):
    // the first of a run of message lines is the kernel's error.
    while (errAt > 0 && !isLogLine(lines[errAt - 1] as string) && (lines[errAt - 1] as string).trim() !== '') errAt--;
    break;
  }
  if (errAt < 0) return undefined;
  const message = (lines[errAt] as string).trim();
  let insn: number | undefined;
  let insnText: string | undefined;
  let registers: string | undefined;
  let file: string | undefined;
  let line: number | undefined;
  let sourceText: string | undefined;
  for (let i = errAt - 1; i >= 0; i--) {
    const l = lines[i] as string;
    const m = INSN.exec(l);
    if (insn === undefined && m) {
      insn = Number(m[1]);
      insnText = (m[2] as string).trim();
      registers = m[3]?.trim() || undefined;
      continue;
    }
    if (insn !== undefined) {
      const a = ANNOTATION.exec(l);
      if (a) {
        sourceText = (a[1] as string).trim();
        file = a[2] as string;
        line = Number(a[3]);
        break;
      }
    }
  }
  const processed = processedAt >= 0 ? Number(PROCESSED.exec(lines[processedAt] as string)?.[1]) : undefined;
  return {
    program,
    ...(file !== undefined ? { file, line, sourceText } : {}),
    ...(insn !== undefined ? { insn, insnText } : {}),
    message,
    summary: explain(message),
    ...(registers ? { registers } : {}),
    truncated,
    ...(processed !== undefined ? { processedInsns: processed } : {}),
  };
}
