// Command-line parsing for tldctl on node:util.parseArgs: positionals, --flag VALUE, --switch, each
// command's own options, and values checked with clear usage errors.
import { parseArgs as nodeParseArgs } from 'node:util';

import { KeySpec, parseKeySpec } from '../client/protocol';

/** One option as a command declares it (node:util.parseArgs's shape). */
export interface OptionSpec {
  /** 'string' takes a value (`--pin PATH`, `--pin=PATH`); 'boolean' is a switch and takes none. */
  readonly type: 'string' | 'boolean';
  /** Repeatable: every value is kept, in order, in Parsed.lists (`-I DIR`, `--set K=V`). */
  readonly multiple?: boolean;
  /** A one-letter form: `-I DIR` and `-IDIR` for --include. */
  readonly short?: string;
}

export type Options = Readonly<Record<string, OptionSpec>>;

export interface Parsed {
  readonly positionals: string[];
  /** The last value of each valued option. */
  readonly options: Map<string, string>;
  /** Every value of each valued option, in order (for repeatable ones: -I DIR, --set K=V). */
  readonly lists: Map<string, string[]>;
  readonly switches: Set<string>;
}

export class UsageError extends Error {}

/** How an option was written, for messages: `-I` or `--include`. */
function written(raw: string): string {
  const eq = raw.indexOf('=');
  return eq < 0 ? raw : raw.slice(0, eq);
}

/**
 * Splits @argv with node:util.parseArgs by the declared @options. Unknown options, a value
 * given to a switch (`--json=no`) and a missing value are usage errors; @unknown may name the
 * owner of an option this command does not take ("ps takes no --set"). A word that starts with
 * a dash and a digit (`-5`) is a positional, so negative values need no `--`.
 */
export function parseArgs(argv: readonly string[], options: Options, unknown?: (option: string) => string | undefined): Parsed {
  const out: Parsed = { positionals: [], options: new Map(), lists: new Map(), switches: new Set() };
  const { tokens } = nodeParseArgs({
    args: [...argv],
    options: options as Record<string, OptionSpec>,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  // A group like -12 comes back as one token per letter, all with the word's index.
  const numberWords = new Set<number>();
  for (const t of tokens) {
    switch (t.kind) {
      case 'positional':
        out.positionals.push(t.value);
        break;
      case 'option-terminator':
        break;
      case 'option': {
        const word = argv[t.index] as string;
        if (/^-\d/.test(word) && !t.rawName.startsWith('--')) {
          if (!numberWords.has(t.index)) out.positionals.push(word);
          numberWords.add(t.index);
          break;
        }
        const spec = Object.prototype.hasOwnProperty.call(options, t.name) ? options[t.name] : undefined;
        const name = written(t.rawName);
        if (!spec) throw new UsageError(unknown?.(name) ?? `unknown option ${name}`);
        if (spec.type === 'boolean') {
          if (t.value !== undefined) throw new UsageError(`${name} is a switch and takes no value (give ${name} or leave it out)`);
          out.switches.add(t.name);
        } else {
          if (t.value === undefined) throw new UsageError(`${name} needs a value`);
          out.options.set(t.name, t.value);
          out.lists.set(t.name, [...(out.lists.get(t.name) ?? []), t.value]);
        }
        break;
      }
      default: {
        const never: never = t;
        throw new UsageError(`unexpected argument ${String(never)}`);
      }
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
