// Decoding and encoding hint values by type: integers by size, hex otherwise, or a struct.
import { TldError } from './errors';
import { jsonSafe } from './printable';

export type IntSize = 1 | 2 | 4 | 8;

export type ValueType =
  | { readonly kind: 'int'; readonly size: IntSize; readonly signed: boolean }
  | { readonly kind: 'hex'; readonly size: number }
  | { readonly kind: 'struct'; readonly name: string; readonly size: number; readonly fields: readonly StructField[] };

export interface StructField {
  readonly name: string;
  readonly offset: number;
  readonly type: ValueType;
}

/** A decoded value: integers as number (bigint beyond 2^53), bytes as a 0x hex string. */
export type Value = number | bigint | string | { readonly [field: string]: Value };

/** The default type of a key of @size bytes: unsigned integer for 1, 2, 4, 8, else hex. */
export function defaultType(size: number): ValueType {
  return size === 1 || size === 2 || size === 4 || size === 8
    ? { kind: 'int', size, signed: false }
    : { kind: 'hex', size };
}

/** Chosen types of keys, by name (tldctl's --types, the tldStudio.keyTypes setting). */
export type KeyTypes = ReadonlyMap<string, ValueType>;

/** The type a key is decoded with: the given one when its size fits, else the default by size. */
export function typeOf(types: KeyTypes): (key: { readonly name: string; readonly size: number }) => ValueType {
  return (k) => {
    const t = types.get(k.name);
    return t && (t.size === k.size || t.size === 0) ? t : defaultType(k.size);
  };
}

function readInt(bytes: Uint8Array, size: IntSize, signed: boolean): number | bigint {
  const v = new DataView(bytes.buffer, bytes.byteOffset, size);
  switch (size) {
    case 1:
      return signed ? v.getInt8(0) : v.getUint8(0);
    case 2:
      return signed ? v.getInt16(0, true) : v.getUint16(0, true);
    case 4:
      return signed ? v.getInt32(0, true) : v.getUint32(0, true);
    case 8: {
      const b = signed ? v.getBigInt64(0, true) : v.getBigUint64(0, true);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
  }
}

export function decodeValue(bytes: Uint8Array, type: ValueType): Value {
  switch (type.kind) {
    case 'int':
      if (bytes.length < type.size) return toHex(bytes);
      return readInt(bytes, type.size, type.signed);
    case 'hex':
      return toHex(bytes);
    case 'struct': {
      const out: { [field: string]: Value } = {};
      for (const f of type.fields) {
        const size = typeSize(f.type);
        out[f.name] = decodeValue(bytes.subarray(f.offset, f.offset + size), f.type);
      }
      return out;
    }
  }
}

/** A reader of one value of @type at a byte offset, for decoding many values fast. */
export type ValueReader = (view: DataView, at: number) => Value;

export function readerFor(type: ValueType): ValueReader {
  if (type.kind === 'int') {
    switch (type.size) {
      case 1:
        return type.signed ? (v, at) => v.getInt8(at) : (v, at) => v.getUint8(at);
      case 2:
        return type.signed ? (v, at) => v.getInt16(at, true) : (v, at) => v.getUint16(at, true);
      case 4:
        return type.signed ? (v, at) => v.getInt32(at, true) : (v, at) => v.getUint32(at, true);
      case 8:
        return (v, at) => {
          const lo = v.getUint32(at, true);
          const hi = v.getUint32(at + 4, true);
          if (hi < 0x200000) return hi * 0x100000000 + lo; // exact as a number
          return readInt(new Uint8Array(v.buffer, v.byteOffset + at, 8), 8, type.signed);
        };
    }
  }
  const size = type.size;
  return (v, at) => decodeValue(new Uint8Array(v.buffer, v.byteOffset + at, size), type);
}

export function typeSize(type: ValueType): number {
  return type.size;
}

export function toHex(bytes: Uint8Array): string {
  return '0x' + Buffer.from(bytes).toString('hex');
}

function parseInteger(text: string, key: string): bigint {
  const t = text.trim();
  if (!/^-?(0x[0-9a-f]+|[0-9]+)$/i.test(t)) {
    throw new TldError('EINVAL', `'${text}' is not an integer (for key '${key}')`);
  }
  return t.startsWith('-') ? -BigInt(t.slice(1)) : BigInt(t);
}

/** The bytes of @text for a value of @type. Throws EINVAL when it does not fit. */
export function encodeValue(text: string, type: ValueType, key: string): Uint8Array {
  switch (type.kind) {
    case 'int': {
      const v = parseInteger(text, key);
      const bits = BigInt(type.size * 8);
      const min = type.signed ? -(1n << (bits - 1n)) : v < 0n ? -(1n << (bits - 1n)) : 0n;
      const max = type.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
      if (v < min || v > max) {
        throw new TldError('EINVAL', `${text} does not fit key '${key}' of ${type.size} byte${type.size > 1 ? 's' : ''} (${min}..${max})`);
      }
      const out = new Uint8Array(type.size);
      const view = new DataView(out.buffer);
      const u = BigInt.asUintN(Number(bits), v);
      for (let i = 0; i < type.size; i++) view.setUint8(i, Number((u >> BigInt(8 * i)) & 0xffn));
      return out;
    }
    case 'hex': {
      const t = text.trim().replace(/^0x/i, '');
      if (!/^([0-9a-f]{2})*$/i.test(t)) {
        throw new TldError('EINVAL', `'${text}' is not hex bytes (for key '${key}')`);
      }
      const bytes = Buffer.from(t, 'hex');
      if (bytes.length > type.size) {
        throw new TldError('EINVAL', `${bytes.length} bytes do not fit key '${key}' of ${type.size} bytes`);
      }
      const out = new Uint8Array(type.size);
      out.set(bytes);
      return out;
    }
    case 'struct':
      throw new TldError('EINVAL', `key '${key}' has a struct type: set it as hex bytes or field by field`);
  }
}

/** JSON with bigints as plain digits, so 64-bit values stay exact, and no raw control character. */
export function toJson(value: unknown, indent?: number): string {
  const marks: string[] = [];
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v === 'bigint') {
        marks.push(v.toString());
        return `\u0000big${marks.length - 1}\u0000`;
      }
      return v;
    },
    indent,
  );
  return jsonSafe(text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)] ?? '0'));
}

const INT_NAMES: Readonly<Record<string, { size: IntSize; signed: boolean }>> = {
  u8: { size: 1, signed: false }, i8: { size: 1, signed: true },
  u16: { size: 2, signed: false }, i16: { size: 2, signed: true },
  u32: { size: 4, signed: false }, i32: { size: 4, signed: true },
  u64: { size: 8, signed: false }, i64: { size: 8, signed: true },
  bool: { size: 1, signed: false },
};

/**
 * Key types from a JSON object: { "KEY": "u8" | "i32" | ... | "hex",
 * "KEY2": { "struct": "NAME", "fields": [{ "name": "f", "offset": 0, "type": "u32" }] } }.
 * Throws EINVAL naming the key whose type is not understood.
 */
export function parseTypes(json: unknown): Map<string, ValueType> {
  const out = new Map<string, ValueType>();
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TldError('EINVAL', 'key types must be a JSON object of KEY: TYPE');
  }
  for (const [key, spec] of Object.entries(json as Record<string, unknown>)) {
    out.set(key, parseType(key, spec));
  }
  return out;
}

function parseType(key: string, spec: unknown): ValueType {
  if (typeof spec === 'string') {
    const int = INT_NAMES[spec];
    if (int) return { kind: 'int', ...int };
    const hex = /^hex(?::(\d+))?$/.exec(spec);
    if (hex) return { kind: 'hex', size: Number(hex[1] ?? 0) };
    throw new TldError('EINVAL', `type '${spec}' of key '${key}' is not one of ${Object.keys(INT_NAMES).join(', ')}, hex`);
  }
  if (typeof spec === 'object' && spec !== null && Array.isArray((spec as { fields?: unknown }).fields)) {
    const s = spec as { struct?: unknown; fields: unknown[] };
    const fields: StructField[] = s.fields.map((f, i) => {
      const field = f as { name?: unknown; offset?: unknown; type?: unknown };
      if (typeof field.name !== 'string' || typeof field.offset !== 'number') {
        throw new TldError('EINVAL', `field ${i} of key '${key}' needs a name and an offset`);
      }
      return { name: field.name, offset: field.offset, type: parseType(`${key}.${field.name}`, field.type) };
    });
    const size = Math.max(0, ...fields.map((f) => f.offset + typeSize(f.type)));
    return { kind: 'struct', name: typeof s.struct === 'string' ? s.struct : key, size, fields };
  }
  throw new TldError('EINVAL', `the type of key '${key}' is not understood`);
}
