// A protobuf wire-format reader of its own, independent of protobufjs, for tests that check a
// file's messages by field number (as Perfetto's trace_processor reads them).
export type WireValue = bigint | Uint8Array;

/** Every field of one message: number -> values in order (varints and fixed as bigint, the rest bytes). */
export function readMessage(buf: Uint8Array): Map<number, WireValue[]> {
  const out = new Map<number, WireValue[]>();
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= buf.length) throw new Error('truncated varint');
      const b = buf[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  const fixed = (n: number): bigint => {
    if (at + n > buf.length) throw new Error('truncated fixed field');
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]!);
    at += n;
    return v;
  };
  while (at < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value: WireValue;
    switch (wire) {
      case 0:
        value = varint();
        break;
      case 1:
        value = fixed(8);
        break;
      case 2: {
        const len = Number(varint());
        if (at + len > buf.length) throw new Error(`field ${field} runs past its message`);
        value = buf.subarray(at, at + len);
        at += len;
        break;
      }
      case 5:
        value = fixed(4);
        break;
      default:
        throw new Error(`wire type ${wire} of field ${field} is not one a Perfetto trace uses`);
    }
    if (field === 0) throw new Error('field number 0');
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

export function bytesOf(m: Map<number, WireValue[]>, field: number): Uint8Array | undefined {
  const v = m.get(field)?.[0];
  return v instanceof Uint8Array ? v : undefined;
}

export function intOf(m: Map<number, WireValue[]>, field: number): bigint | undefined {
  const v = m.get(field)?.[0];
  return typeof v === 'bigint' ? v : undefined;
}

export function textOf(m: Map<number, WireValue[]>, field: number): string | undefined {
  const b = bytesOf(m, field);
  return b ? Buffer.from(b).toString('utf8') : undefined;
}
