// Whether a source reaches vmlinux.h through headers that do nothing before including it, as
// sched_ext schedulers do (`#include <scx/common.bpf.h>`, whose first lines include vmlinux.h):
// then a precompiled vmlinux.h put before everything means the same. Learnt from clang's -H (the
// headers in the order it enters them) on one compile and kept per source, with a hash of what
// precedes the include in each file of the chain: a change there makes the next compile learn again.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A file of the chain (the source first) and the hash of its text up to the include of the next. */
export interface ChainFile {
  readonly file: string;
  readonly region: string;
}

export interface ChainRecord {
  readonly format: 1;
  /** The vmlinux.h the chain ends in (real path). */
  readonly header: string;
  /** The chain when nothing in it can change what the header means; null when something can. */
  readonly files: readonly ChainFile[] | null;
  /** The hash of the source's first run of directives: when it changes, the chain is learnt again. */
  readonly lead: string;
}

/** A header clang -H printed: how deep it is included, and the file. */
export interface Entered {
  readonly depth: number;
  readonly file: string;
}

const TREE_LINE = /^(\.+) (.+)$/;
const GUARDS_NOTE = 'Multiple include guards may be useful for:';

/** The headers clang -H printed to @stderr, in the order it entered them (paths resolved from @cwd). */
export function parseIncludeTree(stderr: string, cwd: string): Entered[] {
  const out: Entered[] = [];
  for (const line of stderr.split('\n')) {
    if (line === GUARDS_NOTE) break;
    const m = TREE_LINE.exec(line);
    if (m) out.push({ depth: m[1]!.length, file: path.resolve(cwd, m[2]!) });
  }
  return out;
}

/** clang's @stderr without what -H added: the tree, and the list of headers without guards after it. */
export function withoutIncludeTree(stderr: string): string {
  const lines = stderr.split('\n');
  const note = lines.indexOf(GUARDS_NOTE);
  // The note's list is paths, one per line, up to the end.
  return (note >= 0 ? lines.slice(0, note) : lines).filter((l) => !TREE_LINE.test(l)).join('\n');
}

const real = (file: string): string => {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
};

/**
 * The headers between the source and @header when @header is the first header clang entered
 * below them (each included by the one before, nothing else entered first); null otherwise.
 */
export function chainTo(tree: readonly Entered[], header: string): string[] | null {
  const target = real(header);
  const at = tree.findIndex((e) => real(e.file) === target);
  if (at < 0) return null;
  for (let i = 0; i <= at; i++) if (tree[i]!.depth !== i + 1) return null;
  return tree.slice(0, at).map((e) => e.file);
}

/**
 * @text's lines as the preprocessor sees them: continued lines joined first, then comments
 * blanked in one pass from the start, so that a comment opener inside another comment or a
 * string literal is not taken for one.
 */
function logicalLines(text: string): string[] {
  const t = text.replace(/\\\n/g, ' ');
  let out = '';
  let i = 0;
  while (i < t.length) {
    const c = t[i]!;
    if (c === '/' && t[i + 1] === '/') {
      const nl = t.indexOf('\n', i);
      i = nl < 0 ? t.length : nl;
    } else if (c === '/' && t[i + 1] === '*') {
      const end = t.indexOf('*/', i + 2);
      const stop = end < 0 ? t.length : end + 2;
      out += t.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < t.length && t[j] !== c && t[j] !== '\n') j += t[j] === '\\' ? 2 : 1;
      out += t.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out.split('\n');
}

const INCLUDE = /^#\s*include\s*["<]([^">]+)[">]/;

/** The first run of directives of @text, blank lines left out: what a source's includes hang on. */
function leadingDirectives(text: string): string[] {
  const out: string[] = [];
  for (const raw of logicalLines(text)) {
    const l = raw.trim();
    if (l === '') continue;
    if (!l.startsWith('#')) break;
    out.push(l);
  }
  return out;
}

/** Whether @source's first line of code (comments and blank lines aside) includes vmlinux.h. */
export function includesVmlinuxFirst(source: string): boolean {
  const first = leadingDirectives(source)[0];
  return first !== undefined && INCLUDE.exec(first)?.[1] === 'vmlinux.h';
}

/**
 * The lines of @text that clang may have read before entering @next: the file's first run of
 * directives (code ends it), up to its last #include of a file named like @next. Undefined when
 * that run includes no such file.
 */
export function regionBefore(text: string, next: string): string[] | undefined {
  const lines = leadingDirectives(text);
  const base = path.basename(next);
  let end = -1;
  lines.forEach((l, i) => {
    const m = INCLUDE.exec(l);
    if (m && path.basename(m[1]!) === base) end = i;
  });
  return end < 0 ? undefined : lines.slice(0, end);
}

/** A word of vmlinux.h's text: a macro of that name would change what the header says. */
const inHeader = (name: string, headerText: string): boolean => new RegExp(`\\b${name}\\b`).test(headerText);

/**
 * Whether @region (regionBefore's lines) does nothing that could change @headerText's meaning:
 * conditionals, includes clang did not enter (the tree says which it did), and macros whose
 * names the header never uses. A #pragma, #line or a macro the header uses could.
 */
export function harmlessRegion(region: readonly string[], headerText: string): boolean {
  for (const l of region) {
    const m = /^#\s*(\w+)\s*(.*)$/.exec(l);
    if (!m) return false;
    const [, directive, rest] = m as unknown as [string, string, string];
    switch (directive) {
      case 'if': case 'ifdef': case 'ifndef': case 'elif': case 'elifdef': case 'elifndef': case 'else': case 'endif':
      case 'include': case 'error': case 'warning':
        break;
      case 'pragma':
        if (rest.trim() !== 'once') return false;
        break;
      case 'define': case 'undef': {
        const name = /^[A-Za-z_]\w*/.exec(rest)?.[0];
        if (!name || inHeader(name, headerText)) return false;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

const hashOf = (lines: readonly string[]): string => createHash('sha256').update(lines.join('\n')).digest('hex');

/** The chain record for @source from a compile's -H @tree; files null when the chain is not harmless. */
export function learnChain(source: string, header: string, tree: readonly Entered[]): ChainRecord {
  const headerReal = real(header);
  const lead = hashOf(leadingDirectives(fs.readFileSync(source, 'utf8')));
  const unsafe: ChainRecord = { format: 1, header: headerReal, files: null, lead };
  const between = chainTo(tree, header);
  if (!between) return unsafe;
  const chain = [source, ...between];
  const headerText = fs.readFileSync(header, 'utf8');
  const files: ChainFile[] = [];
  for (let i = 0; i < chain.length; i++) {
    const region = regionBefore(fs.readFileSync(chain[i]!, 'utf8'), chain[i + 1] ?? header);
    if (!region || !harmlessRegion(region, headerText)) return unsafe;
    files.push({ file: chain[i]!, region: hashOf(region) });
  }
  return { format: 1, header: headerReal, files, lead };
}

/**
 * What @record says of @source and @header now: 'use' (the chain is harmless and each file's
 * text before its include is as it was), 'skip' (found unsafe, and the source's includes are as
 * they were) or 'learn' (something changed, or the record is another header's).
 */
export function chainVerdict(record: ChainRecord, source: string, header: string): 'use' | 'skip' | 'learn' {
  if (record.header !== real(header)) return 'learn';
  if (!record.files) {
    try {
      return hashOf(leadingDirectives(fs.readFileSync(source, 'utf8'))) === record.lead ? 'skip' : 'learn';
    } catch {
      return 'learn';
    }
  }
  return chainHolds(record.files, header) ? 'use' : 'learn';
}

/**
 * Whether a quoted include of @header's name in @file finds @header: it is looked for beside
 * @file first, and another one there would be found instead.
 */
export function quotedIncludeFinds(file: string, header: string): boolean {
  const beside = path.join(path.dirname(file), path.basename(header));
  return !fs.existsSync(beside) || real(beside) === real(header);
}

/**
 * Whether each file of @files has the same text before its include as when learnt, and the
 * last one's quoted include still finds @header.
 */
function chainHolds(files: readonly ChainFile[], header: string): boolean {
  const last = files[files.length - 1];
  if (last && !quotedIncludeFinds(last.file, header)) return false;
  return files.every((f, i) => {
    try {
      const region = regionBefore(fs.readFileSync(f.file, 'utf8'), files[i + 1]?.file ?? header);
      return region !== undefined && hashOf(region) === f.region;
    } catch {
      return false;
    }
  });
}

/** A record read back from @file, or undefined when there is none or it is not one. */
export function readChain(file: string): ChainRecord | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ChainRecord>;
    const filesOk = v.files === null || (Array.isArray(v.files) && v.files.every((f) => typeof f?.file === 'string' && typeof f?.region === 'string'));
    return v.format === 1 && typeof v.header === 'string' && typeof v.lead === 'string' && filesOk ? (v as ChainRecord) : undefined;
  } catch {
    return undefined;
  }
}
