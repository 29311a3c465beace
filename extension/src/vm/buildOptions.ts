// The options of a BPF build as tldctl and the extension choose them: the kernel whose
// vmlinux.h it is built against (--kernel, else the host's, else the cached sched_ext
// kernel's when the source needs sched_ext and the host has none) and the user's include
// folders and flags, with compile_commands.json's where the workspace has one.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { compileCommandsFlags } from '../client/compileCommands';
import { CompileOptions, Diagnostic, vmlinuxDir } from '../client/compiler';
import { TldError } from '../client/errors';
import { cacheDir as defaultCacheDir } from '../client/paths';
import type { KernelInfo } from './kernel';

export interface BuildRequest {
  /** -I DIR, in order. */
  readonly includeDirs?: readonly string[];
  /** --cflag FLAG, in order. */
  readonly cflags?: readonly string[];
  /**
   * --kernel: a cached kernel's version, a bzImage or ELF vmlinux, a vmlinux.h or a folder
   * holding one; false when the caller has its kernel already (vm run's guest).
   */
  readonly kernel?: string | false;
  /** Look for compile_commands.json up to this folder (the workspace); false: do not look. */
  readonly compileCommandsTop?: string | false;
  readonly cacheDir?: string;
  /** The host kernel's BTF, to tell whether it has sched_ext. */
  readonly hostBtf?: string;
}

/** The extension's build settings as VS Code hands them over (unchecked JSON). */
export interface BuildSettings {
  readonly includePath?: unknown;
  readonly cflags?: unknown;
  readonly kernel?: unknown;
}

/**
 * The build request of the settings tldStudio.bpf.includePath, .cflags and .kernel for a file
 * in @folder (its workspace folder, or its own folder): ${workspaceFolder} expanded, relative
 * include folders taken from @folder, anything but strings ignored.
 */
export function settingsBuildRequest(settings: BuildSettings, folder: string, workspaceFolder?: string): BuildRequest & { kernel?: string } {
  const expand = (v: string): string => (workspaceFolder ? v.replace(/\$\{workspaceFolder\}/g, workspaceFolder) : v);
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '').map(expand) : []);
  const kernel = typeof settings.kernel === 'string' && settings.kernel !== '' ? expand(settings.kernel) : undefined;
  return {
    includeDirs: strings(settings.includePath).map((d) => path.resolve(folder, d)),
    cflags: strings(settings.cflags),
    compileCommandsTop: workspaceFolder ?? folder,
    ...(kernel ? { kernel } : {}),
  };
}

const SCHED_EXT_TYPE = 'sched_ext_ops';

/** The line (1-based) where @text uses sched_ext, or undefined: scx's headers, sched_ext_ops, the ops macros. */
export function schedExtUse(text: string): number | undefined {
  const lines = text.split('\n');
  const uses = [/^\s*#\s*include\s*[<"](?:scx\/[^>"]+|scx\.bpf\.h)[>"]/, /\bstruct\s+sched_ext_ops\b/, /\bSCX_OPS_DEFINE\s*\(/, /\bBPF_STRUCT_OPS(?:_SLEEPABLE)?\s*\(/];
  const i = lines.findIndex((l) => uses.some((u) => u.test(l)));
  return i < 0 ? undefined : i + 1;
}

/** The running kernel has sched_ext: its BTF names struct sched_ext_ops. */
export function hostHasSchedExt(btf = '/sys/kernel/btf/vmlinux'): boolean {
  try {
    return fs.readFileSync(btf).includes(`\0${SCHED_EXT_TYPE}\0`);
  } catch {
    return false;
  }
}

const note = (file: string, line: number, message: string): Diagnostic => ({ file, line, column: 1, severity: 'note', message, source: 'build' });
const error = (file: string, line: number, message: string): Diagnostic => ({ file, line, column: 1, severity: 'error', message, source: 'build' });

/** A folder whose vmlinux.h is @header (a link when the file has another name). */
function folderOf(header: string, cache: string): string {
  if (path.basename(header) === 'vmlinux.h') return path.dirname(header);
  const dir = path.join(cache, 'vmlinux', 'given', Buffer.from(header).toString('base64url').slice(-40));
  fs.mkdirSync(dir, { recursive: true });
  const link = path.join(dir, 'vmlinux.h');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(header, link);
  return dir;
}

/** The kernel --kernel names, as a folder holding its vmlinux.h and a sentence on which it is. */
async function givenKernel(kernel: string, cache: string): Promise<{ dir: string; what: string }> {
  const abs = path.resolve(kernel);
  if (fs.existsSync(abs)) {
    if (fs.statSync(abs).isDirectory()) {
      if (!fs.existsSync(path.join(abs, 'vmlinux.h'))) throw new TldError('ENOENT', `--kernel ${kernel}: the folder has no vmlinux.h`);
      return { dir: abs, what: path.join(abs, 'vmlinux.h') };
    }
    if (/\.h$/.test(abs)) return { dir: folderOf(abs, cache), what: abs };
    // A bzImage or an ELF vmlinux: cached (and its vmlinux.h made) as tldctl vm kernel --kernel does.
    const { ensureKernel } = await import('./kernel');
    const k = await ensureKernel({ cacheDir: cache, kernelPath: abs, onProgress: () => undefined });
    return { dir: path.dirname(k.vmlinuxH), what: `kernel ${k.version} (${abs})` };
  }
  if (kernel === os.release()) return { dir: vmlinuxDir(), what: `the running kernel ${kernel}` };
  const { listCachedKernels } = await import('./kernel');
  const cached = listCachedKernels(cache);
  const k = cached.find((c) => c.version === kernel) ?? cached.find((c) => c.version.startsWith(kernel));
  if (!k) {
    const have = cached.map((c) => c.version).join(', ');
    throw new TldError('ENOENT', `--kernel ${kernel} is neither a file nor a cached kernel (${have ? `cached: ${have}` : 'none is cached'}; \`tldctl vm kernel\` gets one)`);
  }
  return { dir: path.dirname(k.vmlinuxH), what: `the cached kernel ${k.version}` };
}

/** The newest cached sched_ext kernel, if any. */
async function cachedSchedExt(cache: string): Promise<KernelInfo | undefined> {
  const { listCachedKernels } = await import('./kernel');
  return listCachedKernels(cache).find((k) => k.hasSchedExt);
}

/**
 * The compile options for @source: vmlinux.h's folder, include folders and flags, and the notes
 * (or the error) that say which kernel and whose flags. Flags given here come after
 * compile_commands.json's, so they win.
 */
export async function buildOptions(source: string, req: BuildRequest = {}): Promise<CompileOptions> {
  const abs = path.resolve(source);
  const cache = req.cacheDir ?? defaultCacheDir();
  const preflight: Diagnostic[] = [];
  const includeDirs: string[] = [];
  const cflags: string[] = [];
  if (req.compileCommandsTop !== false) {
    const cc = compileCommandsFlags(abs, req.compileCommandsTop);
    if (cc) {
      includeDirs.push(...cc.includeDirs);
      cflags.push(...cc.cflags);
      const whose = cc.entry === abs ? 'its entry' : `the entry of ${path.basename(cc.entry)}`;
      preflight.push(note(abs, 1, `flags from ${cc.from} (${whose}): ${[...cc.includeDirs.map((d) => `-I${d}`), ...cc.cflags].join(' ') || 'none a BPF build takes'}`));
    }
  }
  includeDirs.push(...(req.includeDirs ?? []));
  cflags.push(...(req.cflags ?? []));
  let dir: string | undefined;
  if (req.kernel === false) {
    // The caller builds against its own kernel's vmlinux.h.
  } else if (req.kernel !== undefined) {
    const k = await givenKernel(req.kernel, cache);
    dir = k.dir;
    preflight.push(note(abs, 1, `built against the vmlinux.h of ${k.what}`));
  } else if (fs.existsSync(abs)) {
    const line = schedExtUse(fs.readFileSync(abs, 'utf8'));
    if (line !== undefined && !hostHasSchedExt(req.hostBtf)) {
      const k = await cachedSchedExt(cache);
      if (k) {
        dir = path.dirname(k.vmlinuxH);
        preflight.push(note(abs, line, `this file uses sched_ext and the running kernel (${os.release()}) has none: built against the vmlinux.h of the cached sched_ext kernel ${k.version} (--kernel picks another)`));
      } else {
        preflight.push(error(abs, line, `this file uses sched_ext and the running kernel (${os.release()}) has none, so its vmlinux.h lacks the sched_ext types: get a sched_ext kernel with \`tldctl vm kernel\` (the build then uses its vmlinux.h), or give --kernel PATH|VERSION`));
      }
    }
  }
  return {
    ...(dir ? { vmlinuxDir: dir } : {}),
    ...(includeDirs.length ? { includeDirs } : {}),
    ...(cflags.length ? { cflags } : {}),
    ...(preflight.length ? { preflight } : {}),
  };
}
