// Command-line parsing for tldctl: positionals, --flag VALUE, --switch, and per-command help.
import { KeySpec, parseKeySpec } from '../client/protocol';

export interface Parsed {
  readonly positionals: string[];
  /** The last value of each valued option. */
  readonly options: Map<string, string>;
  /** Every value of each valued option, in order (for repeatable ones: -I DIR, --set K=V). */
  readonly lists: Map<string, string[]>;
  readonly switches: Set<string>;
}

export class UsageError extends Error {}

/** Short options and the long option each stands for; `-I DIR` and `-IDIR` both work. */
const SHORT: Readonly<Record<string, string>> = { '-I': 'include' };

/** Splits @argv; @valued names the options that take a value. Unknown options are errors. */
export function parseArgs(argv: readonly string[], valued: readonly string[], switches: readonly string[]): Parsed {
  const out: Parsed = { positionals: [], options: new Map(), lists: new Map(), switches: new Set() };
  const put = (name: string, v: string | undefined) => {
    if (v === undefined) throw new UsageError(`--${name} needs a value`);
    out.options.set(name, v);
    out.lists.set(name, [...(out.lists.get(name) ?? []), v]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    const short = Object.keys(SHORT).find((s) => a.startsWith(s));
    if (short && valued.includes(SHORT[short] as string)) {
      put(SHORT[short] as string, a.length > short.length ? a.slice(short.length) : argv[++i]);
      continue;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) throw new UsageError(`unknown option ${a}`);
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    if (switches.includes(name)) {
      out.switches.add(name);
    } else if (valued.includes(name)) {
      put(name, inline ?? argv[++i]);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return out;
}

/** A positive integer argument, or a usage error naming @what. */
export function positiveInt(text: string | undefined, what: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${what} must be a positive whole number${text === undefined ? '' : `, not '${text}'`}`);
  }
  return Number(text);
}

/** PID or PID:TID. */
export function pidTid(text: string | undefined): { pid: number; tid: number } {
  const [p, t] = (text ?? '').split(':', 2);
  return { pid: positiveInt(p || undefined, 'PID'), tid: t === undefined ? 0 : positiveInt(t, 'TID') };
}

/** KEY:SIZE, as a usage error when it is not. */
export function keySpec(text: string): KeySpec {
  try {
    return parseKeySpec(text);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
