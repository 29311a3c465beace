// Where an installed helper host lives and the root-owned configuration it serves by. One
// definition for `tldctl helper install` (which writes it) and the host (which reads it).
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';

import { TldError } from './errors';

import { DEFAULT_PIN_DIR, MAP_NAME } from './layout';

/** The installed host: a root-owned folder with its own Node, its JS and the helper library. */
export const INSTALL_DIR = '/usr/local/lib/tld-studio';
/** The one command sudoers and polkit allow, with no arguments: it execs the installed host. */
export const HOST_COMMAND = `${INSTALL_DIR}/tld-helper-host`;
/** The configuration the installed host reads; root-owned, never from the caller. */
export const HOST_CONFIG_PATH = '/etc/tld-studio/helper.json';

export interface HostConfig {
  /** The shared pinned map the host opens. */
  readonly pinPath: string;
  /** The only folder under which the host pins (and unpins) loaded programs. */
  readonly programPinRoot: string;
}

export const DEFAULT_HOST_CONFIG: HostConfig = {
  pinPath: `${DEFAULT_PIN_DIR}/${MAP_NAME}`,
  programPinRoot: '/sys/fs/bpf/tld-studio',
};

/** Validates a parsed configuration; throws an Error saying what is wrong. */
export function parseHostConfig(v: unknown): HostConfig {
  if (typeof v !== 'object' || v === null) throw new Error('the helper configuration is not a JSON object');
  const o = v as Record<string, unknown>;
  const abs = (name: keyof HostConfig): string => {
    const p = o[name];
    if (typeof p !== 'string' || !p.startsWith('/sys/fs/bpf/') || p.split('/').includes('..')) {
      throw new Error(`${name} must be an absolute path under /sys/fs/bpf without '..', not ${JSON.stringify(p)}`);
    }
    return p;
  };
  return { pinPath: abs('pinPath'), programPinRoot: abs('programPinRoot') };
}

/** The installed configuration, or the defaults when none is installed. */
export function readHostConfig(file = HOST_CONFIG_PATH): HostConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_HOST_CONFIG;
    throw e;
  }
  return parseHostConfig(JSON.parse(text));
}

/**
 * The options root may give a host it starts from a checkout (`--pin PATH`, `--lib PATH`, also
 * as `--pin=PATH`): EINVAL for anything else, or an option without its value, rather than a
 * host that serves another pin than the one asked for.
 */
export function parseHostArgs(argv: readonly string[]): { pin?: string; lib?: string } {
  try {
    const { values } = parseArgs({ args: [...argv], options: { pin: { type: 'string' }, lib: { type: 'string' } }, strict: true, allowPositionals: false });
    return { ...(values.pin !== undefined ? { pin: values.pin } : {}), ...(values.lib !== undefined ? { lib: values.lib } : {}) };
  } catch (e) {
    throw new TldError('EINVAL', `the helper host takes --pin PATH and --lib PATH only: ${(e as Error).message.split('\n')[0]}`);
  }
}
