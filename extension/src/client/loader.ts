// Compile, check, load: one flow from a BPF C file to loaded programs, with every problem
// (clang's, the check's, the verifier's) as a diagnostic at its source line.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CompileOptions, CompileResult, Diagnostic, compile } from './compiler';
import { bpfIncludeDirs } from './paths';
import { Finding, LoadResult, RawHelper } from './protocol';

/** The helper calls the flow needs: checking needs no privileges, loading does. */
export type Checker = Pick<RawHelper, 'objectCheck'>;
export type Loader = Pick<RawHelper, 'objectCheck' | 'objectLoad'>;
import { VerifierError, parseVerifierLog } from './verifierLog';

export interface BuildOutcome {
  readonly compile: CompileResult;
  readonly findings: readonly Finding[];
  /** Everything to show, clang's first, at source lines. */
  readonly diagnostics: readonly Diagnostic[];
  readonly load?: LoadResult;
  readonly verifier?: VerifierError;
}

/** The line of @source that declares @subject (a map, program or struct), or 1. */
function lineOf(source: string, subject: string): number {
  const lines = source.split('\n');
  const word = new RegExp(`\\b${subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
  const decl = lines.findIndex((l) => word.test(l) && /SEC\(|struct\s|\(/.test(l));
  const any = decl >= 0 ? decl : lines.findIndex((l) => word.test(l));
  return any >= 0 ? any + 1 : 1;
}

function findingDiagnostic(file: string, source: string, f: Finding): Diagnostic {
  return {
    file,
    line: f.code === 'no-license' ? 1 : lineOf(source, f.subject),
    column: 1,
    severity: f.severity,
    message: f.message,
    source: 'check',
  };
}

/** The file a verifier annotation names: the source itself, or a header beside it or in the include folders. */
function resolveAnnotated(name: string, sourceFile: string): string {
  if (path.basename(sourceFile) === name || path.resolve(path.dirname(sourceFile), name) === sourceFile) return sourceFile;
  for (const dir of [path.dirname(sourceFile), ...bpfIncludeDirs()]) {
    const candidate = path.resolve(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return path.resolve(path.dirname(sourceFile), name);
}

export function verifierDiagnostic(sourceFile: string, v: VerifierError): Diagnostic {
  const where = v.insn !== undefined ? ` (instruction ${v.insn}${v.insnText ? `: ${v.insnText}` : ''})` : '';
  return {
    file: v.file ? resolveAnnotated(v.file, sourceFile) : sourceFile,
    line: v.line ?? 1,
    column: 1,
    severity: 'error',
    message: `${v.summary} [verifier: ${v.message}${where}]`,
    source: 'verifier',
  };
}

/** Compiles @file and checks the object; loads nothing. */
export async function compileAndCheck(helper: Checker, file: string, opts: CompileOptions = {}): Promise<BuildOutcome> {
  const result = await compile(file, opts);
  if (!result.ok) return { compile: result, findings: [], diagnostics: result.diagnostics };
  const source = fs.readFileSync(file, 'utf8');
  const findings = await helper.objectCheck(result.object);
  const abs = path.resolve(file);
  return {
    compile: result,
    findings,
    diagnostics: [...result.diagnostics, ...findings.map((f) => findingDiagnostic(abs, source, f))],
  };
}

/**
 * Compiles, checks and, when nothing is in the way, loads @file (attaching with @attach).
 * A verifier rejection comes back as a diagnostic at the failing source line, with the whole
 * log in `load.log`.
 */
export async function compileCheckLoad(
  helper: Loader,
  file: string,
  pinRoot: string,
  attach: boolean,
  opts: CompileOptions = {},
): Promise<BuildOutcome> {
  const checked = await compileAndCheck(helper, file, opts);
  if (!checked.compile.ok || checked.findings.some((f) => f.severity === 'error')) return checked;
  const load = await helper.objectLoad(checked.compile.object, pinRoot, attach);
  if (load.ok) return { ...checked, load };
  const verifier = load.log ? parseVerifierLog(load.log, load.failedProgram) : undefined;
  const abs = path.resolve(file);
  const failure: Diagnostic = verifier
    ? verifierDiagnostic(abs, verifier)
    : { file: abs, line: 1, column: 1, severity: 'error', message: load.error?.message ?? 'the load failed', source: 'verifier' };
  return { ...checked, load, verifier, diagnostics: [...checked.diagnostics, failure] };
}

/** "file:line:col: severity: message", which terminals and editors jump to. */
export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  const rel = path.relative(cwd, d.file);
  const shown = rel && !rel.startsWith('..') ? rel : d.file;
  return `${shown}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
}
