// The flags a workspace's compile_commands.json gives a BPF source (scx's meson writes one):
// its include folders, defines, -mcpu and -std, from the entry for the file or a sibling's.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface CompileCommandsFlags {
  /** The compile_commands.json they came from. */
  readonly from: string;
  /** The source whose entry was used (the file itself, or a sibling). */
  readonly entry: string;
  readonly includeDirs: readonly string[];
  /** -D, -U, -mcpu=, -std= as given. */
  readonly cflags: readonly string[];
}

interface Entry {
  readonly directory: string;
  readonly file: string;
  readonly arguments?: readonly string[];
  readonly command?: string;
}

/** A shell command line split into words (quotes and backslashes as sh reads them). */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < command.length) word = (word ?? '') + command[++i];
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word = word ?? '';
    } else if (c === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i];
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The include folders (absolute) and the flags a BPF build takes from one entry's arguments. */
export function buildFlags(args: readonly string[], directory: string): { includeDirs: string[]; cflags: string[] } {
  const includeDirs: string[] = [];
  const cflags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const valued = (flag: string): string | undefined => (a === flag ? args[++i] : a.startsWith(flag) ? a.slice(flag.length) : undefined);
    let v: string | undefined;
    if ((v = valued('-I')) !== undefined || (v = valued('-isystem')) !== undefined || (v = valued('-iquote')) !== undefined) {
      if (v) includeDirs.push(path.resolve(directory, v));
    } else if ((v = valued('-D')) !== undefined) {
      if (v) cflags.push(`-D${v}`);
    } else if ((v = valued('-U')) !== undefined) {
      if (v) cflags.push(`-U${v}`);
    } else if (/^-mcpu=|^-std=/.test(a)) {
      cflags.push(a);
    }
  }
  return { includeDirs, cflags };
}

function readEntries(file: string): Entry[] {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(v)) return [];
    return v.filter((e): e is Entry =>
      typeof e === 'object' && e !== null && typeof (e as Entry).directory === 'string' && typeof (e as Entry).file === 'string' &&
      (Array.isArray((e as Entry).arguments) || typeof (e as Entry).command === 'string'));
  } catch {
    return [];
  }
}

/** compile_commands.json files for @source: in its folder and each parent up to @top, and in their build folders. */
export function findCompileCommands(source: string, top?: string): string[] {
  const found: string[] = [];
  const stop = top ? path.resolve(top) : path.parse(source).root;
  let dir = path.dirname(path.resolve(source));
  for (;;) {
    const candidates = [path.join(dir, 'compile_commands.json')];
    try {
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        // Build folders as meson and cmake users name them (meson setup build, builddir, _build).
        if (d.isDirectory() && /^(_?build.*|out)$/.test(d.name)) candidates.push(path.join(dir, d.name, 'compile_commands.json'));
      }
    } catch {
      // an unreadable folder has no compile_commands.json we can use
    }
    found.push(...candidates.filter((c) => fs.existsSync(c)));
    if (dir === stop || path.dirname(dir) === dir) break;
    dir = path.dirname(dir);
  }
  return found;
}

/** The stem a source shares with its siblings: scx_simple for scx_simple.bpf.c and scx_simple.c. */
const stem = (file: string): string => path.basename(file).replace(/(\.bpf)?\.c$/, '');

/**
 * The flags for @source from the nearest compile_commands.json (searched up to @top) that has
 * an entry for it, for a sibling of the same name (scx_simple.c for scx_simple.bpf.c), or for
 * another file in its folder; undefined when none has.
 */
export function compileCommandsFlags(source: string, top?: string): CompileCommandsFlags | undefined {
  const abs = path.resolve(source);
  for (const db of findCompileCommands(abs, top)) {
    const entries = readEntries(db).map((e) => ({ ...e, abs: path.resolve(e.directory, e.file) }));
    const inFolder = entries.filter((e) => path.dirname(e.abs) === path.dirname(abs));
    const entry = entries.find((e) => e.abs === abs) ?? inFolder.find((e) => stem(e.abs) === stem(abs)) ?? inFolder[0];
    if (!entry) continue;
    const args = entry.arguments ?? splitCommand(entry.command ?? '');
    return { from: db, entry: entry.abs, ...buildFlags(args.slice(1), entry.directory) };
  }
  return undefined;
}
