// Key types found without configuration, from debug information: a program's DWARF names its
// sources (compile units), the sources say which C type a key holds (`tld::variable<T>`,
// `TLD_DEFINE_KEY(k, "name", sizeof(struct T))`, a BPF `tld_lookup(..., sizeof(struct T))`), and
// the same DWARF gives that type's fields. Works for applications built with -g and for BPF
// objects (clang -g emits DWARF beside BTF). llvm-dwarfdump (Debian's llvm-19) reads it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { IntSize, StructField, ValueType } from '../client/values';
import { lookupTool } from '../client/hostTool';
import { KeyUse, TYPE_SIZES, scanSource } from './keyScan';

/** One DIE of llvm-dwarfdump's text: its tag, depth (by indentation) and attributes. */
interface Die {
  readonly tag: string;
  readonly depth: number;
  readonly attrs: ReadonlyMap<string, string>;
}

/** The DIEs of an llvm-dwarfdump --debug-info text, in order ("NULL" ends a parent's children). */
export function parseDies(dump: string): Die[] {
  const dies: Die[] = [];
  let current: { tag: string; depth: number; attrs: Map<string, string> } | undefined;
  for (const line of dump.split('\n')) {
    const head = /^0x[0-9a-f]+:(\s+)(DW_TAG_\w+|NULL)/.exec(line);
    if (head) {
      current = { tag: head[2] as string, depth: (head[1] as string).length, attrs: new Map() };
      dies.push(current);
      continue;
    }
    const attr = /^\s+(DW_AT_\w+)\s+\((.*)\)\s*$/.exec(line);
    if (attr && current) current.attrs.set(attr[1] as string, attr[2] as string);
  }
  return dies;
}

const unquote = (v: string | undefined): string | undefined => {
  const m = v === undefined ? null : /"([^"]*)"/.exec(v);
  return m ? (m[1] as string) : undefined;
};

const number = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v.trim().split(/\s/)[0]);
  return Number.isFinite(n) ? n : undefined;
};

/** Size and sign of a C integer type as DWARF names it ("long unsigned int", "uint32_t", "__u8"); undefined for anything else. */
export function dwarfInt(typeName: string): { size: IntSize; signed: boolean } | undefined {
  const name = typeName.replace(/\b(const|volatile)\s+/g, '').trim();
  if (name === 'float' || name === 'double') return undefined;
  const typedef = TYPE_SIZES[name];
  const words = name.split(/\s+/);
  const builtin = words.every((w) => ['signed', 'unsigned', 'char', 'short', 'int', 'long'].includes(w));
  if (typedef === undefined && !builtin) return undefined;
  const size = typedef ?? (words.includes('char') ? 1 : words.includes('short') ? 2 : words.includes('long') ? 8 : 4);
  const unsigned = words.includes('unsigned') || /^(u\d|__u\d|uint\d|size_t|bool|_Bool)/.test(name);
  return size === 1 || size === 2 || size === 4 || size === 8 ? { size, signed: !unsigned } : undefined;
}

/** The type of a member of C type @typeName with @room bytes before the next member: an integer for the C integer names, else bytes. */
function memberType(typeName: string | undefined, room: number): ValueType {
  const int = dwarfInt(typeName ?? '');
  return int && int.size <= room ? { kind: 'int', ...int } : { kind: 'hex', size: room };
}

/**
 * The struct named @name in @dies (a definition, not a declaration) as a value type: its
 * integer fields by name, others as bytes; undefined when there is none.
 */
export function structFromDies(dies: readonly Die[], name: string): ValueType | undefined {
  for (let i = 0; i < dies.length; i++) {
    const d = dies[i] as Die;
    if ((d.tag !== 'DW_TAG_structure_type' && d.tag !== 'DW_TAG_class_type') || unquote(d.attrs.get('DW_AT_name')) !== name) continue;
    if (d.attrs.has('DW_AT_declaration')) continue;
    const size = number(d.attrs.get('DW_AT_byte_size'));
    if (size === undefined) continue;
    const members: { name: string; offset: number; type: string | undefined }[] = [];
    for (let j = i + 1; j < dies.length; j++) {
      const m = dies[j] as Die;
      if (m.depth <= d.depth) break;
      if (m.tag !== 'DW_TAG_member' || m.depth !== (dies[i + 1] as Die).depth) continue;
      const offset = number(m.attrs.get('DW_AT_data_member_location'));
      const field = unquote(m.attrs.get('DW_AT_name'));
      if (offset === undefined || field === undefined || m.attrs.has('DW_AT_bit_size')) continue;
      members.push({ name: field, offset, type: unquote(m.attrs.get('DW_AT_type')) });
    }
    if (members.length === 0) continue;
    const fields: StructField[] = members.map((m, k) => {
      const end = members[k + 1]?.offset ?? size;
      return { name: m.name, offset: m.offset, type: memberType(m.type, end - m.offset) };
    });
    return { kind: 'struct', name, size, fields };
  }
  return undefined;
}

/** The absolute source paths of the compile units in @dies. */
export function compileUnitSources(dies: readonly Die[]): string[] {
  const out: string[] = [];
  for (const d of dies) {
    if (d.tag !== 'DW_TAG_compile_unit') continue;
    const name = unquote(d.attrs.get('DW_AT_name'));
    if (!name) continue;
    const dir = unquote(d.attrs.get('DW_AT_comp_dir')) ?? '';
    out.push(path.resolve(dir, name));
  }
  return out;
}

function dwarfdump(): string | null {
  return lookupTool('llvm-dwarfdump-19') ?? lookupTool('llvm-dwarfdump');
}

function dump(tool: string, args: readonly string[]): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 10_000, maxBuffer: 64 << 20 });
  return r.status === 0 ? r.stdout : '';
}

/** The type of each key of @keys that a source of @binary names and @binary's DWARF defines, with the key's size. */
export function binaryKeyTypes(binary: string, keys: readonly { name: string; size: number }[]): Map<string, ValueType> {
  const out = new Map<string, ValueType>();
  const tool = dwarfdump();
  if (!tool) return out;
  const units = parseDies(dump(tool, ['--debug-info', '--recurse-depth=0', binary]));
  const uses: KeyUse[] = [];
  for (const source of compileUnitSources(units)) {
    try {
      uses.push(...scanSource(source, fs.readFileSync(source, 'utf8')));
    } catch {
      // the source is not on this machine: its keys keep their default types
    }
    // Headers a unit includes beside it (tld.hpp users often define keys there) are not units.
  }
  const wanted = new Map<string, string>();
  for (const k of keys) {
    const use = uses.find((u) => u.name === k.name && u.typeName !== undefined);
    if (use?.typeName) wanted.set(k.name, use.typeName);
  }
  const structs = new Map<string, ValueType | undefined>();
  for (const [key, typeName] of wanted) {
    if (!structs.has(typeName)) structs.set(typeName, structFromDies(parseDies(dump(tool, ['--name', typeName, '--show-children', binary])), typeName));
    const t = structs.get(typeName);
    const size = keys.find((k) => k.name === key)?.size;
    if (t && t.size === size) out.set(key, t);
  }
  return out;
}

const SYSTEM_DIRS = ['/usr/lib', '/lib', '/lib64', '/usr/lib64'];

/** The executable of @pid and the shared objects it mapped from outside the system's folders (a plugin, its own libraries). */
export function processBinaries(pid: number): string[] {
  const out: string[] = [];
  try {
    out.push(fs.readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return out;
  }
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const f = line.split(/\s+/).slice(5).join(' ');
      if (!f.startsWith('/') || !/\.so(\.|$)/.test(f) || SYSTEM_DIRS.some((d) => f.startsWith(d + '/'))) continue;
      if (!out.includes(f)) out.push(f);
    }
  } catch {
    // exited meanwhile
  }
  return out;
}
