// The helper host's framing (client/protocol.ts): a JSON header line, then the raw bytes it
// announces. Read back whatever the chunking; lengths from the peer are bounded, never trusted.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import {
  Frame,
  FrameLimits,
  FrameReader,
  HostReply,
  HostRequest,
  REPLY_LIMITS,
  REQUEST_LIMITS,
  encodeFrame,
  encodeReply,
  encodeRequest,
  parseHostReply,
  parseHostRequest,
} from '../../extension/src/client/protocol';

/** Every byte value, newlines and braces included, so that no payload byte can pass for framing. */
const allBytes = Uint8Array.from({ length: 512 }, (_, i) => i % 256);

/** Reads @chunks in order; the frames, and the error if the reader gave one. */
function read(chunks: readonly Uint8Array[], limits: FrameLimits = REPLY_LIMITS, end = true): { frames: Frame[]; error?: TldError } {
  const frames: Frame[] = [];
  let error: TldError | undefined;
  const reader = new FrameReader(limits, (f) => frames.push(f), (e) => {
    assert.equal(error, undefined, 'one error at most');
    error = e;
  }, 'the peer');
  for (const c of chunks) reader.push(c);
  if (end) reader.end();
  return { frames, ...(error ? { error } : {}) };
}

const stream = Buffer.concat([
  ...encodeFrame({ hello: 'tld-helper-host', abi: 3, protocol: 2 }),
  ...encodeReply({ id: 1, ok: true, result: { bytes: allBytes } }),
  ...encodeReply({ id: 2, ok: true, result: { bytes: new Uint8Array(0), lost: 4 } }),
  ...encodeReply({ id: 3, ok: false, error: { code: 'ESRCH', message: 'process 9 exited\n(a newline inside a string)' } }),
  ...encodeReply({ id: 4, ok: true, result: { bytes: Buffer.from('{"id":99,"ok":true}\n') } }),
]);

/** What the stream above must read as, whatever its chunks. */
function assertStream(frames: readonly Frame[]): void {
  const replies = frames.map(parseHostReply);
  assert.deepEqual(replies, [
    { hello: 'tld-helper-host', abi: 3, protocol: 2 },
    { id: 1, ok: true, result: { bytes: Buffer.from(allBytes) } },
    { id: 2, ok: true, result: { lost: 4, bytes: Buffer.alloc(0) } },
    { id: 3, ok: false, error: { code: 'ESRCH', message: 'process 9 exited\n(a newline inside a string)' } },
    { id: 4, ok: true, result: { bytes: Buffer.from('{"id":99,"ok":true}\n') } },
  ]);
}

test('a stream of frames split in two at every byte boundary reads as the same frames', () => {
  for (let i = 0; i <= stream.length; i++) {
    const { frames, error } = read([stream.subarray(0, i), stream.subarray(i)]);
    assert.equal(error, undefined, `split at ${i}: ${error?.message}`);
    assertStream(frames);
  }
});

test('a stream fed one byte at a time, or whole in one chunk, reads as the same frames', () => {
  const bytes = Array.from(stream, (b) => Uint8Array.of(b));
  const one = read(bytes);
  assert.equal(one.error, undefined);
  assertStream(one.frames);
  const whole = read([stream]);
  assert.equal(whole.error, undefined);
  assertStream(whole.frames);
});

test('a frame of 1 MiB over many chunks comes out whole, and a frame inside one chunk is not copied', () => {
  const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0xff);
  const bytes = Buffer.concat(encodeReply({ id: 5, ok: true, result: { bytes: big } }));
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 65536) chunks.push(bytes.subarray(at, at + 65536));
  const { frames, error } = read(chunks);
  assert.equal(error, undefined);
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]!.payload, Buffer.from(big));
  const one = read([bytes]).frames[0]!;
  assert.equal(one.payload!.buffer, bytes.buffer, 'the payload is a view of the chunk it came in');
});

test('requests and replies keep their bytes through their frames', () => {
  const req: HostRequest = { id: 7, method: 'write', pid: 42, tid: 0, offset: 8, bytes: Uint8Array.of(1, 10, 0, 255) };
  const [frame] = read(encodeRequest(req), REQUEST_LIMITS).frames;
  assert.deepEqual(frame!.header, { id: 7, method: 'write', pid: 42, tid: 0, offset: 8, payload: 4 }, 'the bytes are not in the header');
  assert.deepEqual(parseHostRequest(frame!), req);
  const reply: HostReply = { id: 7, ok: true, result: { bytes: allBytes, lost: 0 } };
  assert.deepEqual(parseHostReply(read(encodeReply(reply)).frames[0]!), { id: 7, ok: true, result: { lost: 0, bytes: allBytes } });
});

test('a stream that ends inside a payload or a header line is an error naming where', () => {
  const full = Buffer.concat(encodeReply({ id: 1, ok: true, result: { bytes: new Uint8Array(10) } }));
  const cut = read([full.subarray(0, full.length - 7)]);
  assert.deepEqual(cut.frames, []);
  assert.ok(cut.error instanceof TldError);
  assert.equal(cut.error.code, 'EHELPER');
  assert.equal(cut.error.message, 'the peer sent a malformed frame: the stream ended 3 bytes into a payload of 10');
  const header = read([Buffer.from('{"id":1,"ok":tr')]);
  assert.equal(header.error?.message, 'the peer sent a malformed frame: the stream ended inside a header line');
  assert.equal(read([]).error, undefined, 'an empty stream is not an error');
});

test('a payload larger than the limit is refused from its header, before any byte of it is kept, and nothing after is read', () => {
  const limits: FrameLimits = { headerMax: 1024, payloadMax: 100 };
  const over = Buffer.from('{"id":1,"ok":true,"result":{},"payload":101}\n' + 'x'.repeat(101) + '{"id":2,"ok":true,"result":{}}\n');
  const { frames, error } = read([over], limits);
  assert.deepEqual(frames, []);
  assert.equal(error?.message, 'the peer sent a malformed frame: a payload of 101 bytes, more than the 100 allowed');
  // The host's own limit: a request carries one write within the largest data page.
  const huge = read([Buffer.from('{"id":1,"method":"write","pid":5,"tid":0,"offset":0,"payload":4294967296}\n')], REQUEST_LIMITS, false);
  assert.match(huge.error?.message ?? '', /a payload of 4294967296 bytes, more than the 65528 allowed/);
  const at = read([Buffer.from('{"id":1,"ok":true,"result":{},"payload":100}\n'), Buffer.alloc(100)], limits);
  assert.equal(at.error, undefined, 'the limit itself is allowed');
  assert.equal(at.frames[0]!.payload!.length, 100);
});

test('a payload length that is not a whole number is refused', () => {
  for (const n of ['-1', '1.5', '"10"', 'null', '[]', '1e300']) {
    const { frames, error } = read([Buffer.from(`{"id":1,"ok":true,"result":{},"payload":${n}}\n`)]);
    assert.deepEqual(frames, [], n);
    assert.match(error?.message ?? '', /a payload (length that is not a whole number|of .* bytes, more than)/, n);
  }
});

test('a header line longer than the limit is refused as soon as it is, without waiting for its newline', () => {
  const limits: FrameLimits = { headerMax: 64, payloadMax: 100 };
  const chunks = [Buffer.from('{"id":1,"x":"'), Buffer.from('a'.repeat(40)), Buffer.from('a'.repeat(40))];
  const { frames, error } = read(chunks, limits, false);
  assert.deepEqual(frames, []);
  assert.equal(error?.message, 'the peer sent a malformed frame: a header line longer than 64 bytes');
  const exact = Buffer.from(`{"a":"${'b'.repeat(64 - 8)}"}\n`);
  assert.equal(exact.length - 1, 64);
  assert.equal(read([exact], limits).frames.length, 1, 'a header of the limit itself is read');
});

test('a header line that is not a JSON object is a frame without header, and reading goes on', () => {
  const { frames, error } = read([Buffer.from('not json\n[1,2]\n{"hello":"tld-helper-host","abi":1}\n')]);
  assert.equal(error, undefined);
  assert.deepEqual(frames.map((f) => [f.header, f.text]), [
    [undefined, 'not json'],
    [undefined, '[1,2]'],
    [{ hello: 'tld-helper-host', abi: 1 }, '{"hello":"tld-helper-host","abi":1}'],
  ]);
});
