// The client's pure parts, without the kernel: the host protocol's validation, value
// encoding and decoding, record streams, metadata pages, and tldctl's argument parsing.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { Options, keySpec, parseArgs, pidTid, positiveInt, UsageError } from '../../extension/src/cli/args';
import { GLOBAL_OPTIONS } from '../../extension/src/cli/command';
import { attachCommands } from '../../extension/src/cli/commands/attach';
import { buildCommands } from '../../extension/src/cli/commands/build';
import { helperCommand } from '../../extension/src/cli/commands/helper';
import { inspectCommands } from '../../extension/src/cli/commands/inspect';
import { traceCommands } from '../../extension/src/cli/commands/trace';
import { vmCommands } from '../../extension/src/cli/commands/vm';
import { TldError } from '../../extension/src/client/errors';
import { ENTRY_SIZE, META_HEADER, META_PAGE_SIZE, NAME_LEN } from '../../extension/src/client/layout';
import { parseHostReply, parseHostRequest } from '../../extension/src/client/protocol';
import { frameOf } from '../support/frames';
import {
  REC_HEADER,
  REC_THREAD,
  REC_TRACE,
  REC_WRITTEN,
  THREAD_REC,
  TRACE_HAS_DSQ,
  TRACE_OFF_CPU,
  TRACE_ON_CPU,
  TRACE_REC,
  TRACE_WAKEUP,
  RecordCursor,
  decodeRecords,
  decodeTrace,
  metaPageOf,
  threadDataLen,
} from '../../extension/src/client/records';
import { checkStart, parseMetadata, parseSnapshot } from '../../extension/src/client/snapshot';
import { ValueType, decodeValue, defaultType, encodeValue, parseTypes, toJson } from '../../extension/src/client/values';

const usage = (message: RegExp) => (e: unknown) => e instanceof UsageError && message.test(e.message);

const isTldError = (code: string, message?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TldError, `not a TldError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (message) assert.match(e.message, message);
  return true;
};

test('parseHostRequest accepts each well-formed request and drops malformed lines', () => {
  assert.deepEqual(parseHostRequest(frameOf('{"id":1,"method":"list"}')), { id: 1, method: 'list' });
  assert.deepEqual(parseHostRequest(frameOf('{"id":2,"method":"snapshot","pid":42,"extra":true}')), { id: 2, method: 'snapshot', pid: 42 });
  assert.deepEqual(parseHostRequest(frameOf('{"id":9,"method":"traceStart","pid":42}')), { id: 9, method: 'traceStart', pid: 42 });
  assert.equal(parseHostRequest(frameOf('{"id":9,"method":"traceStart","pid":0}')), null, 'a trace needs a real pid');
  assert.deepEqual(parseHostRequest(frameOf('{"id":10,"method":"traceRead","pid":42}')), { id: 10, method: 'traceRead' });
  assert.deepEqual(parseHostRequest(frameOf('{"id":11,"method":"traceStop"}')), { id: 11, method: 'traceStop' });
  assert.deepEqual(parseHostRequest(frameOf('{"id":3,"method":"write","pid":42,"tid":0,"offset":8,"payload":1}', Buffer.from([1]))), {
    id: 3, method: 'write', pid: 42, tid: 0, offset: 8, bytes: Buffer.from([1]),
  });
  assert.deepEqual(parseHostRequest(frameOf('{"id":4,"method":"attach","pid":42,"keys":[{"name":"a","size":4}]}')), {
    id: 4, method: 'attach', pid: 42, keys: [{ name: 'a', size: 4 }],
  });
  assert.deepEqual(parseHostRequest(frameOf('{"id":5,"method":"detach","pid":42}')), { id: 5, method: 'detach', pid: 42 });
  assert.deepEqual(parseHostRequest(frameOf('{"id":6,"method":"hostReport"}')), { id: 6, method: 'hostReport' });
  const malformed = [
    '',
    'not json',
    '{"id":1,"method":"list"',
    'null',
    '[1,2]',
    '"list"',
    '{"method":"list"}',
    '{"id":"1","method":"list"}',
    '{"id":1.5,"method":"list"}',
    '{"id":1}',
    '{"id":1,"method":"rm -rf"}',
    '{"id":1,"method":"snapshot"}',
    '{"id":1,"method":"snapshot","pid":0}',
    '{"id":1,"method":"snapshot","pid":-5}',
    '{"id":1,"method":"snapshot","pid":"42"}',
    '{"id":1,"method":"snapshot","pid":4.2}',
    '{"id":1,"method":"detach","pid":null}',
    '{"id":1,"method":"write","pid":42,"tid":0,"offset":8}',
    '{"id":1,"method":"write","pid":42,"tid":"0","offset":8,"payload":0}',
    '{"id":1,"method":"write","pid":42,"tid":0,"offset":8,"bytes":[1]}',
    '{"id":1,"method":"snapshot","pid":42,"payload":0}',
    '{"id":1,"method":"attach","pid":42}',
    '{"id":1,"method":"attach","pid":42,"keys":"a:4"}',
    '{"id":1,"method":"attach","pid":42,"keys":[{"name":"a"}]}',
    '{"id":1,"method":"attach","pid":42,"keys":[{"name":1,"size":4}]}',
    '{"id":1,"method":"attach","pid":42,"keys":[null]}',
  ];
  for (const line of malformed) assert.equal(parseHostRequest(frameOf(line)), null, `kept: ${line}`);
  assert.equal(parseHostRequest(frameOf('{"id":1,"method":"list","payload":2}', Buffer.from([1, 2]))), null, 'bytes only come with a write');
});

test('parseHostReply accepts hello, results with their bytes and errors, and drops malformed frames', () => {
  assert.deepEqual(parseHostReply(frameOf('{"hello":"tld-helper-host","abi":1}')), { hello: 'tld-helper-host', abi: 1 });
  assert.deepEqual(parseHostReply(frameOf('{"hello":"tld-helper-host","abi":1,"protocol":2}')), { hello: 'tld-helper-host', abi: 1, protocol: 2 });
  assert.deepEqual(parseHostReply(frameOf('{"id":1,"ok":true,"result":{"lost":3},"payload":2}', Buffer.from([7, 8]))), { id: 1, ok: true, result: { lost: 3, bytes: Buffer.from([7, 8]) } });
  assert.deepEqual(parseHostReply(frameOf('{"id":1,"ok":true,"result":{}}')), { id: 1, ok: true, result: {} });
  assert.deepEqual(parseHostReply(frameOf('{"id":1,"ok":false,"error":{"code":"ESRCH","message":"gone"}}')), {
    id: 1, ok: false, error: { code: 'ESRCH', message: 'gone' },
  });
  for (const line of ['', 'x', '{"hello":"other","abi":1}', '{"hello":"tld-helper-host","abi":1,"protocol":"2"}', '{"id":1,"ok":true}', '{"id":1,"ok":"yes","result":{}}', '{"id":1,"ok":false,"error":{"code":1}}', '{"ok":true,"result":{}}']) {
    assert.equal(parseHostReply(frameOf(line)), null, `kept: ${line}`);
  }
});

test('encodeValue then decodeValue gives back every integer at the edges of each size', () => {
  const cases: [ValueType, string[], (number | bigint)[]][] = [
    [{ kind: 'int', size: 1, signed: false }, ['0', '1', '255', '0xff'], [0, 1, 255, 255]],
    [{ kind: 'int', size: 1, signed: true }, ['-128', '-1', '127'], [-128, -1, 127]],
    [{ kind: 'int', size: 2, signed: false }, ['65535', '0x1234'], [65535, 0x1234]],
    [{ kind: 'int', size: 2, signed: true }, ['-32768', '32767'], [-32768, 32767]],
    [{ kind: 'int', size: 4, signed: false }, ['4294967295', '123456789'], [4294967295, 123456789]],
    [{ kind: 'int', size: 4, signed: true }, ['-2147483648', '2147483647'], [-2147483648, 2147483647]],
    [
      { kind: 'int', size: 8, signed: false },
      ['9007199254740991', '9007199254740992', '18446744073709551615', '0xdeadbeefcafebabe'],
      [9007199254740991, 9007199254740992n, 18446744073709551615n, 0xdeadbeefcafebaben],
    ],
    [{ kind: 'int', size: 8, signed: true }, ['-9223372036854775808', '-1', '9223372036854775807'], [-9223372036854775808n, -1, 9223372036854775807n]],
  ];
  for (const [type, texts, values] of cases) {
    texts.forEach((text, i) => {
      const bytes = encodeValue(text, type, 'k');
      assert.equal(bytes.length, type.size);
      assert.deepEqual(decodeValue(bytes, type), values[i], `${text} as ${JSON.stringify(type)}`);
    });
  }
  // Little-endian bytes, as C stores them.
  assert.deepEqual([...encodeValue('0x01020304', defaultType(4), 'k')], [4, 3, 2, 1]);
  // An unsigned key takes a negative value as its two's complement.
  assert.deepEqual([...encodeValue('-1', defaultType(2), 'k')], [0xff, 0xff]);
  // Hex bytes for sizes without an integer type, zero-padded.
  const hex = { kind: 'hex', size: 3 } as const;
  assert.deepEqual([...encodeValue('0xabcd', hex, 'k')], [0xab, 0xcd, 0]);
  assert.equal(decodeValue(encodeValue('abcdef', hex, 'k'), hex), '0xabcdef');
  // A struct decodes field by field.
  const types = parseTypes({ r: { struct: 'req', fields: [{ name: 'prio', offset: 0, type: 'u32' }, { name: 'id', offset: 4, type: 'i16' }] } });
  const t = types.get('r') as ValueType;
  assert.equal(t.size, 6);
  assert.deepEqual(decodeValue(new Uint8Array([7, 0, 0, 0, 0xfe, 0xff]), t), { prio: 7, id: -2 });
});

test('encodeValue refuses values out of range or not numbers with EINVAL saying why', () => {
  const bad: [string, ValueType, RegExp][] = [
    ['256', defaultType(1), /^256 does not fit key 'k' of 1 byte \(0\.\.255\)$/],
    ['-129', defaultType(1), /does not fit key 'k' of 1 byte/],
    ['70000', defaultType(2), /^70000 does not fit key 'k' of 2 bytes \(0\.\.65535\)$/],
    ['4294967296', defaultType(4), /does not fit key 'k' of 4 bytes/],
    ['18446744073709551616', defaultType(8), /does not fit key 'k' of 8 bytes/],
    ['128', { kind: 'int', size: 1, signed: true }, /\(-128\.\.127\)/],
    ['-32769', { kind: 'int', size: 2, signed: true }, /does not fit/],
    ['1.5', defaultType(4), /^'1\.5' is not an integer \(for key 'k'\)$/],
    ['', defaultType(4), /is not an integer/],
    ['0x', defaultType(4), /is not an integer/],
    ['12abc', defaultType(4), /is not an integer/],
    ['0x1234567', { kind: 'hex', size: 3 }, /is not hex bytes/],
    ['0x11223344', { kind: 'hex', size: 3 }, /^4 bytes do not fit key 'k' of 3 bytes$/],
  ];
  for (const [text, type, message] of bad) {
    assert.throws(() => encodeValue(text, type, 'k'), isTldError('EINVAL', message), `${text} as ${JSON.stringify(type)}`);
  }
  const struct = parseTypes({ r: { fields: [{ name: 'a', offset: 0, type: 'u8' }] } }).get('r') as ValueType;
  assert.throws(() => encodeValue('1', struct, 'r'), isTldError('EINVAL', /struct type/));
});

test('parseTypes reads the documented key types and names the key it cannot understand', () => {
  const t = parseTypes({ a: 'i32', b: 'bool', c: 'hex:16', d: 'hex' });
  assert.deepEqual(t.get('a'), { kind: 'int', size: 4, signed: true });
  assert.deepEqual(t.get('b'), { kind: 'int', size: 1, signed: false });
  assert.deepEqual(t.get('c'), { kind: 'hex', size: 16 });
  assert.deepEqual(t.get('d'), { kind: 'hex', size: 0 });
  assert.throws(() => parseTypes({ a: 'float' }), isTldError('EINVAL', /type 'float' of key 'a'/));
  assert.throws(() => parseTypes({ a: { fields: [{ offset: 0, type: 'u8' }] } }), isTldError('EINVAL', /field 0 of key 'a' needs a name/));
  assert.throws(() => parseTypes([1]), isTldError('EINVAL', /JSON object/));
  assert.throws(() => parseTypes({ a: 5 }), isTldError('EINVAL', /key 'a' is not understood/));
});

test('toJson keeps every digit of 64-bit values', () => {
  assert.equal(toJson({ a: 18446744073709551615n, b: [1, -9223372036854775808n], c: 'x' }), '{"a":18446744073709551615,"b":[1,-9223372036854775808],"c":"x"}');
});

/** A record stream of one thread record per tid, each with @data. */
function threadStream(tids: readonly number[], data: readonly number[], type = REC_THREAD): Uint8Array {
  const pad = (8 - (data.length % 8)) % 8;
  const size = THREAD_REC + data.length + pad;
  const buf = new Uint8Array(tids.length * (REC_HEADER + size));
  const v = new DataView(buf.buffer);
  tids.forEach((tid, i) => {
    const at = i * (REC_HEADER + size);
    v.setUint32(at, type, true);
    v.setUint32(at + 4, size, true);
    const body = at + REC_HEADER;
    v.setUint32(body, tid, true);
    v.setUint32(body + 4, 100, true);
    v.setUint32(body + 8, 3, true);
    v.setUint32(body + 12, data.length, true);
    v.setBigUint64(body + 16, 8n, true);
    buf.set(Buffer.from('worker\0'), body + 24);
    v.setUint32(body + 40, 2, true);
    v.setUint32(body + 44, 16, true);
    v.setUint32(body + 48, 4096, true); // page_size
    v.setUint32(body + 52, 1, true); // layout: start in the page
    buf.set(data, body + THREAD_REC);
  });
  return buf;
}

test('decodeRecords reads a whole stream and rejects every truncated one, never returning part of a record', () => {
  const data = [1, 2, 3, 4, 5];
  const stream = threadStream([101, 102, 103], data);
  const recs = decodeRecords(stream);
  assert.equal(recs.length, 3);
  assert.deepEqual(
    recs.map((r) => r.kind === 'thread' && { tid: r.tid, tgid: r.tgid, flags: r.flags, start: r.start, comm: r.comm, keyCount: r.keyCount, used: r.used, data: [...r.data] }),
    [101, 102, 103].map((tid) => ({ tid, tgid: 100, flags: 3, start: 8n, comm: 'worker', keyCount: 2, used: 16, data })),
  );
  assert.equal(decodeRecords(threadStream([7], [], REC_WRITTEN))[0]?.kind, 'written');
  const recordSize = stream.length / 3;
  for (let cut = 1; cut < stream.length; cut++) {
    const part = stream.subarray(0, cut);
    if (cut % recordSize === 0) {
      assert.equal(decodeRecords(part).length, cut / recordSize, 'whole records before the cut');
    } else {
      assert.throws(() => decodeRecords(part), isTldError('EHELPER', /malformed record stream/), `cut at ${cut}`);
    }
  }
  // A record whose data length exceeds its own size, and an unknown type.
  const lying = threadStream([1], data);
  new DataView(lying.buffer).setUint32(REC_HEADER + 12, 4000, true);
  assert.throws(() => decodeRecords(lying), isTldError('EHELPER', /longer than its payload/));
  const unknown = threadStream([1], data);
  new DataView(unknown.buffer).setUint32(0, 99, true);
  assert.throws(() => decodeRecords(unknown), isTldError('EHELPER', /unknown record type 99/));
});

test('parseSnapshot reads the stream with the same framing checks as decodeRecords: every cut stream is refused with the same message', () => {
  const stream = threadStream([101, 102], [...Array(16).keys()]);
  const message = (f: () => unknown): string => {
    try {
      f();
      return 'accepted';
    } catch (e) {
      return (e as Error).message;
    }
  };
  for (let cut = 1; cut < stream.length; cut++) {
    const part = stream.subarray(0, cut);
    assert.equal(message(() => parseSnapshot(100, part)), message(() => decodeRecords(part)), `cut at ${cut}`);
  }
  const lying = threadStream([1], [...Array(16).keys()]);
  new DataView(lying.buffer).setUint32(REC_HEADER + 12, 4000, true);
  assert.equal(message(() => parseSnapshot(100, lying)), message(() => decodeRecords(lying)));
});

/** A metadata page with @entries (name, size); @cnt defaults to their number. */
function metaPage(entries: readonly [string | Uint8Array, number][], cnt = entries.length): Uint8Array {
  const page = new Uint8Array(META_PAGE_SIZE);
  const v = new DataView(page.buffer);
  v.setUint16(0, cnt, true);
  entries.forEach(([name, size], i) => {
    const at = META_HEADER + i * ENTRY_SIZE;
    page.set(typeof name === 'string' ? Buffer.from(name) : name, at);
    v.setUint16(at + NAME_LEN, size, true);
  });
  return page;
}

test('parseMetadata lays out published keys and refuses hostile pages with ECORRUPT', () => {
  assert.deepEqual(parseMetadata(1, metaPage([['a', 1], ['b', 12], ['c', 8]])), [
    { name: 'a', size: 1, offset: 0 },
    { name: 'b', size: 12, offset: 8 },
    { name: 'c', size: 8, offset: 24 },
  ]);
  // An entry claimed but not published yet ends the table.
  assert.deepEqual(parseMetadata(1, metaPage([['a', 4], ['', 0], ['c', 4]])), [{ name: 'a', size: 4, offset: 0 }]);
  const hostile: [Uint8Array, RegExp][] = [
    [metaPage([['a', 4]], 64), /count 64 is beyond the table of 63 entries/],
    [metaPage([[new Uint8Array(NAME_LEN).fill(0x78), 4]]), /entry 0 has an unterminated name/],
    [metaPage([['a', 4], ['', 4]]), /entry 1 has an empty name/],
    [metaPage([['a', 4], ['a', 4]]), /key 'a' appears twice/],
    [metaPage([['a', 4000], ['b', 100]]), /key 'b' \(100 bytes at offset 4000\) runs past the page/],
    [metaPage([['a', 4]]).subarray(0, 2), /truncated/],
  ];
  for (const [page, message] of hostile) {
    assert.throws(() => parseMetadata(7, page), isTldError('ECORRUPT', message));
  }
});

test('tldctl arguments: positive pids, PID:TID, KEY:SIZE, and unknown options are usage errors', () => {
  assert.equal(positiveInt('42', 'PID'), 42);
  for (const bad of [undefined, '', '0', '-1', '1.5', 'abc', '99999999999999999999']) {
    assert.throws(() => positiveInt(bad, 'PID'), UsageError, String(bad));
  }
  assert.deepEqual(pidTid('12'), { pid: 12, tid: 0 });
  assert.deepEqual(pidTid('12:13'), { pid: 12, tid: 13 });
  assert.throws(() => pidTid(':13'), UsageError);
  assert.throws(() => pidTid('12:'), UsageError);
  assert.deepEqual(keySpec('a.b:4'), { name: 'a.b', size: 4 });
  assert.deepEqual(keySpec('ns:key:8'), { name: 'ns:key', size: 8 });
  assert.throws(() => keySpec(':4'), UsageError);
  assert.throws(() => keySpec('k:0'), UsageError);
  const globals: Options = { pin: { type: 'string' }, types: { type: 'string' }, json: { type: 'boolean' } };
  const p = parseArgs(['snapshot', '12', '--json', '--pin=/x', '--types', 't.json', '--', '--json'], globals);
  assert.deepEqual(p.positionals, ['snapshot', '12', '--json']);
  assert.deepEqual([...p.options], [['pin', '/x'], ['types', 't.json']]);
  assert.deepEqual([...p.switches], ['json']);
  assert.throws(() => parseArgs(['--nope'], {}), usage(/^unknown option --nope$/));
  assert.throws(() => parseArgs(['--pin'], globals), usage(/^--pin needs a value$/));
  assert.throws(() => parseArgs(['ps', '--set', 'x=1'], globals, (o) => `ps takes no ${o}`), usage(/^ps takes no --set$/));
});

test('tldctl arguments: --pin=/a=b keeps the whole value after the first =, and a switch given a value (--json=no) is a usage error, not on', () => {
  const globals: Options = { pin: { type: 'string' }, json: { type: 'boolean' } };
  assert.equal(parseArgs(['ps', '--pin=/a=b'], globals).options.get('pin'), '/a=b');
  assert.equal(parseArgs(['ps', '--pin', '/a=b'], globals).options.get('pin'), '/a=b');
  for (const word of ['--json=no', '--json=', '--json=1']) {
    assert.throws(() => parseArgs(['ps', word], globals), usage(/^--json is a switch and takes no value/), word);
  }
  assert.deepEqual([...parseArgs(['ps', '--json'], globals).switches], ['json']);
});

test('tldctl arguments: repeatable options keep every value in order, -I DIR and -IDIR are --include, = in a value stays', () => {
  const opts: Options = { include: { type: 'string', multiple: true, short: 'I' }, set: { type: 'string', multiple: true }, cflag: { type: 'string', multiple: true } };
  const p = parseArgs(['load', 'a.bpf.c', '-I', 'inc1', '-Iinc2', '--include=inc3', '--set', 'x=1', '--set=y=a=b', '--cflag', '-DDEBUG'], opts);
  assert.deepEqual(p.positionals, ['load', 'a.bpf.c']);
  assert.deepEqual(p.lists.get('include'), ['inc1', 'inc2', 'inc3']);
  assert.deepEqual(p.lists.get('set'), ['x=1', 'y=a=b']);
  assert.deepEqual(p.lists.get('cflag'), ['-DDEBUG']);
  assert.equal(p.options.get('include'), 'inc3');
  assert.throws(() => parseArgs(['-I'], opts), usage(/^-I needs a value$/));
  assert.throws(() => parseArgs(['-x'], {}), usage(/^unknown option -x$/));
  assert.deepEqual(parseArgs(['set', '1', 'k', '-5'], {}).positionals, ['set', '1', 'k', '-5']);
  assert.deepEqual(parseArgs(['set', '1', 'k', '-12.5', '-0x10'], {}).positionals, ['set', '1', 'k', '-12.5', '-0x10']);
});

test('tldctl commands never declare one option name with two meanings, nor redeclare a global one, so the command word is found alike for all', () => {
  const seen = new Map<string, string>(Object.entries(GLOBAL_OPTIONS).map(([name, o]) => [name, JSON.stringify(o)]));
  for (const cmd of [...inspectCommands, ...traceCommands, ...attachCommands, ...buildCommands, ...vmCommands, helperCommand]) {
    for (const [name, o] of Object.entries(cmd.options ?? {})) {
      assert.ok(!(name in GLOBAL_OPTIONS), `${cmd.name} redeclares the global --${name}`);
      const before = seen.get(name);
      assert.ok(before === undefined || before === JSON.stringify(o), `${cmd.name} declares --${name} as ${JSON.stringify(o)}, another command as ${before}`);
      seen.set(name, JSON.stringify(o));
    }
  }
});

test('decodeTrace reads each scheduling event of a TRACE stream, its DSQ only when flagged, and rejects a truncated one', () => {
  const rec = (kind: number, tid: number, flags: number, dsq: bigint) => {
    const b = Buffer.alloc(REC_HEADER + TRACE_REC);
    b.writeUInt32LE(REC_TRACE, 0);
    b.writeUInt32LE(TRACE_REC, 4);
    b.writeBigUInt64LE(1000n + BigInt(tid), 8);
    b.writeUInt32LE(kind, 16);
    b.writeUInt32LE(tid, 20);
    b.writeUInt32LE(1, 24); // cpu
    b.writeUInt32LE(77, 28); // waker
    b.writeUInt32LE(flags, 32);
    b.writeUInt32LE(kind === TRACE_OFF_CPU ? 1 : 0, 36); // state
    b.writeBigUInt64LE(dsq, 40);
    return b;
  };
  const stream = Buffer.concat([rec(TRACE_WAKEUP, 5, TRACE_HAS_DSQ, 2n), rec(TRACE_ON_CPU, 5, 0, 0n), rec(TRACE_OFF_CPU, 5, 0, 0n), rec(TRACE_WAKEUP, 6, 0, 9n)]);
  assert.deepEqual(decodeTrace(stream), [
    { kind: 'wakeup', ts: 1005n, tid: 5, cpu: 1, waker: 77, dsqId: 2n },
    { kind: 'on-cpu', ts: 1005n, tid: 5, cpu: 1 },
    { kind: 'off-cpu', ts: 1005n, tid: 5, cpu: 1, state: 1 },
    { kind: 'wakeup', ts: 1006n, tid: 6, cpu: 1, waker: 77 },
  ]);
  assert.throws(() => decodeTrace(stream.subarray(0, stream.length - 1)), isTldError('EHELPER', /malformed/));
  assert.throws(() => decodeTrace(rec(9, 1, 0, 0n)), isTldError('EHELPER', /unknown trace event kind 9/));
});

test('the snapshot parser\'s per-record code makes its error messages in functions of their own', () => {
  // Template literals of one number in several cold branches of a loop became one conversion on
  // the hot path in TurboFan, for every record: a quarter of a 1,000-thread parse (68 -> 45 us).
  // Their messages are made by small functions called where they throw; this keeps it so.
  for (const fn of [parseSnapshot, checkStart, RecordCursor.prototype.next, metaPageOf, threadDataLen]) {
    assert.doesNotMatch(fn.toString(), /`[^`]*\$\{/, `${fn.name} makes a message with a template literal`);
  }
});
