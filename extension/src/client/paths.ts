// Where TLD Studio's own files are: the helper library and the BPF headers users compile against.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DEFAULT_PIN_DIR, MAP_NAME } from './layout';
import { loadToolchain } from './toolchain';

/**
 * The install root: $TLD_STUDIO_ROOT, else found from this file: the extension's folder when it
 * runs from the webpack bundle (dist/), the repository when it runs from out/extension/src/client.
 */
export function studioRoot(env: NodeJS.ProcessEnv = process.env, here = __dirname): string {
  if (env.TLD_STUDIO_ROOT) return env.TLD_STUDIO_ROOT;
  return path.basename(here) === 'dist' ? path.resolve(here, '..') : path.resolve(here, '..', '..', '..', '..');
}

/**
 * The helper library. An installed helper host has it beside its bundle and takes it from
 * there whatever the environment says (sudo and pkexec callers choose nothing of root's).
 */
export function helperLibraryPath(env: NodeJS.ProcessEnv = process.env, here = __dirname): string {
  const beside = path.join(here, 'libtldhelper.so');
  if (fs.existsSync(beside)) return beside;
  return env.TLD_HELPER_LIB || path.join(studioRoot(env, here), 'native', 'build', 'libtldhelper.so');
}

/**
 * Include folders for BPF programs: tld.bpf.h and the layout header it includes, then the
 * headers of the libbpf (>= 1.5) scripts/libbpf.sh chose, ahead of the system's older
 * <bpf/bpf_helpers.h> (bpf_ksym_exists and friends that today's schedulers use).
 */
export function bpfIncludeDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const root = studioRoot(env);
  const t = loadToolchain(toolchainFiles(env));
  return [path.join(root, 'bpf', 'include'), path.join(root, 'native', 'include'), ...(t && fs.existsSync(t.libbpf.include) ? [t.libbpf.include] : [])];
}

/**
 * Where scripts/libbpf.sh's toolchain.json may be, in order: $TLD_TOOLCHAIN, the copy
 * native/build keeps of the one it was built with, and the per-user cache.
 */
export function toolchainFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    ...(env.TLD_TOOLCHAIN ? [env.TLD_TOOLCHAIN] : []),
    path.join(studioRoot(env), 'native', 'build', 'toolchain.json'),
    path.join(cacheDir(env), 'toolchain', 'toolchain.json'),
  ];
}

/** Where tldctl load pins what it loads: $TLD_STUDIO_PIN_ROOT or /sys/fs/bpf/tld-studio. */
export function programPinRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.TLD_STUDIO_PIN_ROOT || '/sys/fs/bpf/tld-studio';
}

/** The per-user cache: $XDG_CACHE_HOME/tld-studio or ~/.cache/tld-studio. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || '/tmp', '.cache');
  return path.join(base, 'tld-studio');
}

/** The pin path the tools use: $TLD_PIN_DIR/tld_data_map, as libtld resolves it. */
export function defaultPinPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TLD_PIN_DIR && env.TLD_PIN_DIR.length > 0 ? env.TLD_PIN_DIR : DEFAULT_PIN_DIR;
  return `${dir}/${MAP_NAME}`;
}
