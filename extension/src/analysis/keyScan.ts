// Static checks of task local data use in C, C++ and BPF C sources, before anything runs:
// where keys are defined or looked up, with their sizes when the source says them plainly.
import { DATA_MAX, MAX_KEYS, NAME_MAX, roundUp } from '../client/layout';

export interface KeyUse {
  readonly file: string;
  readonly line: number; // 1-based
  readonly column: number; // 1-based, of the name's opening quote
  readonly name: string;
  /** The size in bytes, when it is a literal or sizeof of a known type. */
  readonly size?: number;
  /** The C type of the value when the source names one that is not a plain integer: `sizeof(struct req)`, `tld::variable<req>`. */
  readonly typeName?: string;
  readonly kind: 'define' | 'add' | 'variable' | 'lookup';
}

export interface KeyProblem {
  readonly use: KeyUse;
  readonly message: string;
}

/** The sizes of C's integer types (and their kernel and stdint names) on x86-64 and BPF. */
export const TYPE_SIZES: Readonly<Record<string, number>> = {
  char: 1, 'unsigned char': 1, 'signed char': 1, bool: 1, _Bool: 1, __u8: 1, __s8: 1, u8: 1, s8: 1, uint8_t: 1, int8_t: 1,
  short: 2, 'unsigned short': 2, __u16: 2, __s16: 2, u16: 2, s16: 2, uint16_t: 2, int16_t: 2,
  int: 4, 'unsigned int': 4, unsigned: 4, __u32: 4, __s32: 4, u32: 4, s32: 4, uint32_t: 4, int32_t: 4, float: 4,
  long: 8, 'unsigned long': 8, 'long long': 8, 'unsigned long long': 8, __u64: 8, __s64: 8, u64: 8, s64: 8,
  uint64_t: 8, int64_t: 8, double: 8, size_t: 8, pid_t: 4,
};

/** The value of a size expression: an integer literal or sizeof(known type); undefined otherwise. */
export function sizeOf(expr: string): number | undefined {
  const e = expr.trim();
  if (/^\d+$/.test(e)) return Number(e);
  if (/^0x[0-9a-f]+$/i.test(e)) return Number.parseInt(e, 16);
  const m = /^sizeof\s*\(\s*([A-Za-z_][\w ]*?)\s*\)$/.exec(e);
  return m ? TYPE_SIZES[(m[1] as string).replace(/\s+/g, ' ')] : undefined;
}

const PATTERNS: readonly { kind: KeyUse['kind']; re: RegExp }[] = [
  // TLD_DEFINE_KEY(ident, "name", size)
  { kind: 'define', re: /TLD_DEFINE_KEY\s*\(\s*\w+\s*,\s*("(?:[^"\\]|\\.)*")\s*,\s*((?:[^()]|\([^()]*\))*)\)/g },
  // tld_add_key_def("name", size)
  { kind: 'add', re: /tld_add_key_def\s*\(\s*("(?:[^"\\]|\\.)*")\s*,\s*((?:[^()]|\([^()]*\))*)\)/g },
  // tld::variable<T> v("name")
  { kind: 'variable', re: /tld::variable\s*<\s*([^>]+?)\s*>\s*\w+\s*[({]\s*("(?:[^"\\]|\\.)*")/g },
  // tld_lookup(task, key, "name", size), tld_lookup_cached(task, slot, "name", size), tld_key_init(task, key, "name", size)
  { kind: 'lookup', re: /tld_(?:lookup|lookup_cached|key_init)\s*\([^"()]*?,[^"()]*?,\s*("(?:[^"\\]|\\.)*")\s*,\s*((?:[^()]|\([^()]*\))*)\)/g },
];

function position(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: index - last };
}

/** The struct or typedef name a size expression or template argument names ("struct req" gives "req"); undefined for integers and anything else. */
export function namedType(expr: string): string | undefined {
  let e = expr.trim();
  const inner = /^sizeof\s*\((.*)\)$/s.exec(e);
  if (inner) e = (inner[1] as string).trim();
  const m = /^(?:(?:struct|union)\s+)?([A-Za-z_]\w*)$/.exec(e);
  if (!m || TYPE_SIZES[e] !== undefined) return undefined;
  return m[1];
}

/** The key uses in one source file. */
export function scanSource(file: string, text: string): KeyUse[] {
  const uses: KeyUse[] = [];
  for (const { kind, re } of PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const quoted = kind === 'variable' ? (m[2] as string) : (m[1] as string);
      const size = kind === 'variable' ? sizeOf(`sizeof(${m[1]})`) : sizeOf(m[2] as string);
      const at = m.index + m[0].indexOf(quoted);
      let name: string;
      try {
        name = JSON.parse(quoted) as string;
      } catch {
        continue;
      }
      const typeName = namedType(kind === 'variable' ? (m[1] as string) : (m[2] as string));
      uses.push({ file, ...position(text, at), name, ...(size !== undefined ? { size } : {}), ...(typeName !== undefined ? { typeName } : {}), kind });
    }
  }
  return uses.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * The problems of a workspace's keys: a name longer than the layout allows, one name with
 * different sizes, more keys than the table holds, sizes that overflow the page together.
 */
export function checkKeys(uses: readonly KeyUse[]): KeyProblem[] {
  const problems: KeyProblem[] = [];
  const sizes = new Map<string, KeyUse[]>();
  for (const u of uses) {
    if (u.name.length === 0) problems.push({ use: u, message: 'an empty key name is refused (-EINVAL)' });
    if (Buffer.byteLength(u.name) > NAME_MAX) {
      problems.push({ use: u, message: `key name '${u.name}' has ${Buffer.byteLength(u.name)} bytes; the layout allows ${NAME_MAX} (-EINVAL)` });
    }
    if (u.size !== undefined && u.kind !== 'lookup') sizes.set(u.name, [...(sizes.get(u.name) ?? []), u]);
  }
  for (const [name, list] of sizes) {
    const distinct = [...new Set(list.map((u) => u.size))];
    if (distinct.length > 1) {
      for (const u of list) {
        const others = list.filter((o) => o.size !== u.size).map((o) => `${o.size} at ${o.file}:${o.line}`);
        problems.push({ use: u, message: `key '${name}' is defined with ${u.size} bytes here and ${others.join(', ')}: the second definition gets -EEXIST` });
      }
    }
  }
  const defined = [...sizes.entries()].map(([, list]) => list[0] as KeyUse);
  if (defined.length > MAX_KEYS) {
    for (const u of defined.slice(MAX_KEYS)) {
      problems.push({ use: u, message: `${defined.length} keys are defined; a process's table holds ${MAX_KEYS} (-ENOSPC)` });
    }
  }
  let bytes = 0;
  for (const u of defined) {
    bytes += roundUp(u.size ?? 0);
    if (bytes > DATA_MAX) {
      problems.push({ use: u, message: `the keys defined so far take ${bytes} bytes with this one; each thread's page holds ${DATA_MAX} (-ENOSPC)` });
      break;
    }
  }
  // A lookup whose size exceeds the definition reads past the value: BPF gets NULL.
  for (const u of uses) {
    const def = sizes.get(u.name)?.[0];
    if (u.kind === 'lookup' && u.size !== undefined && def?.size !== undefined && u.size > def.size) {
      problems.push({ use: u, message: `'${u.name}' is looked up as ${u.size} bytes but defined with ${def.size} at ${def.file}:${def.line}: the lookup gives NULL` });
    }
  }
  return problems;
}
