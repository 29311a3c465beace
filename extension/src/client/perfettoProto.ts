// The part of Perfetto's trace format (protos/perfetto/trace/: trace.proto, trace_packet.proto,
// track_event/*.proto) that TLD Studio writes, as a protobufjs schema: the one definition the
// writer encodes with and readers (tests, tools) decode with. Field numbers are Perfetto's.
import * as protobuf from 'protobufjs/light';

/** BuiltinClock.BUILTIN_CLOCK_BOOTTIME: the clock of bpf_ktime_get_boot_ns(), Perfetto's default. */
export const CLOCK_BOOTTIME = 6;
/** TracePacket.SequenceFlags.SEQ_INCREMENTAL_STATE_CLEARED */
export const SEQ_INCREMENTAL_STATE_CLEARED = 1;

/** TrackEvent.Type */
export const TYPE_SLICE_BEGIN = 1;
export const TYPE_SLICE_END = 2;
export const TYPE_INSTANT = 3;
export const TYPE_COUNTER = 4;

const schema: protobuf.INamespace = {
  nested: {
    perfetto: {
      nested: {
        protos: {
          nested: {
            Trace: { fields: { packet: { rule: 'repeated', type: 'TracePacket', id: 1 } } },
            TracePacket: {
              fields: {
                timestamp: { type: 'uint64', id: 8 },
                timestampClockId: { type: 'uint32', id: 58 },
                trustedPacketSequenceId: { type: 'uint32', id: 10 },
                sequenceFlags: { type: 'uint32', id: 13 },
                trackEvent: { type: 'TrackEvent', id: 11 },
                trackDescriptor: { type: 'TrackDescriptor', id: 60 },
              },
            },
            TrackDescriptor: {
              fields: {
                uuid: { type: 'uint64', id: 1 },
                parentUuid: { type: 'uint64', id: 5 },
                name: { type: 'string', id: 2 },
                process: { type: 'ProcessDescriptor', id: 3 },
                thread: { type: 'ThreadDescriptor', id: 4 },
                counter: { type: 'CounterDescriptor', id: 8 },
              },
            },
            ProcessDescriptor: {
              fields: {
                pid: { type: 'int32', id: 1 },
                processName: { type: 'string', id: 6 },
              },
            },
            ThreadDescriptor: {
              fields: {
                pid: { type: 'int32', id: 1 },
                tid: { type: 'int64', id: 2 },
                threadName: { type: 'string', id: 5 },
              },
            },
            CounterDescriptor: {
              fields: {
                categories: { rule: 'repeated', type: 'string', id: 2 },
                unit: { type: 'int32', id: 3 },
              },
            },
            TrackEvent: {
              oneofs: {
                counterValueField: { oneof: ['counterValue', 'doubleCounterValue'] },
              },
              fields: {
                type: { type: 'int32', id: 9 },
                trackUuid: { type: 'uint64', id: 11 },
                name: { type: 'string', id: 23 },
                categories: { rule: 'repeated', type: 'string', id: 22 },
                counterValue: { type: 'int64', id: 30 },
                doubleCounterValue: { type: 'double', id: 44 },
                debugAnnotations: { rule: 'repeated', type: 'DebugAnnotation', id: 4 },
              },
            },
            DebugAnnotation: {
              oneofs: {
                value: { oneof: ['boolValue', 'uintValue', 'intValue', 'doubleValue', 'stringValue'] },
              },
              fields: {
                name: { type: 'string', id: 10 },
                boolValue: { type: 'bool', id: 2 },
                uintValue: { type: 'uint64', id: 3 },
                intValue: { type: 'int64', id: 4 },
                doubleValue: { type: 'double', id: 5 },
                stringValue: { type: 'string', id: 6 },
              },
            },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(schema);
export const TraceType = root.lookupType('perfetto.protos.Trace');

/** A 64-bit protobuf integer exactly (protobufjs takes {low, high} without the long package). */
export interface U64 {
  readonly low: number;
  readonly high: number;
  readonly unsigned: boolean;
}

export function u64(v: bigint): U64 {
  return { low: Number(BigInt.asUintN(32, v)) | 0, high: Number(BigInt.asUintN(32, v >> 32n)) | 0, unsigned: true };
}

export function i64(v: bigint): U64 {
  const u = BigInt.asUintN(64, v);
  return { low: Number(BigInt.asUintN(32, u)) | 0, high: Number(u >> 32n) | 0, unsigned: false };
}

/** A decoded 64-bit field as a bigint, whichever form protobufjs gave it (number, Long, string). */
export function toBigInt(v: unknown, signed = false): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v) {
    const { low, high } = v as { low: number; high: number };
    const u = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
    return signed ? BigInt.asIntN(64, u) : u;
  }
  return 0n;
}
