// Frames of the helper host's protocol built from text, through the protocol's own reader: what
// tests hand to the request and reply parsers.
import { Frame, FrameLimits, FrameReader, REQUEST_LIMITS } from '../../extension/src/client/protocol';

/** Every frame of @bytes read with @limits; throws the reader's error, or when a frame is left unfinished. */
export function readFrames(bytes: Uint8Array, limits: FrameLimits = REQUEST_LIMITS): Frame[] {
  const out: Frame[] = [];
  const reader = new FrameReader(limits, (f) => out.push(f), (e) => { throw e; }, 'the test');
  reader.push(bytes);
  reader.end();
  return out;
}

/** The one frame of @line (a header, without its newline) and @payload, which the header must announce. */
export function frameOf(line: string, payload: Uint8Array = new Uint8Array(0)): Frame {
  const frames = readFrames(Buffer.concat([Buffer.from(line + '\n'), payload]));
  if (frames.length !== 1) throw new Error(`${frames.length} frames in ${JSON.stringify(line)}`);
  return frames[0]!;
}
