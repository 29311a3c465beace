// tldctl trace: a process's hints beside its scheduling, written as a Perfetto trace.
// The recorder and the encoder (protobufjs) are imported when trace runs (command.ts says why).
import * as fs from 'node:fs';

import { UsageError, positiveInt } from '../args';
import { Command, out, withClient } from '../command';
import { typeOf } from '../../client/values';

const trace: Command = {
  name: 'trace',
  summary: ['trace PID --out FILE          hints beside scheduling, as a Perfetto trace'],
  help:
    'Usage: tldctl trace PID --out FILE [--seconds N] [--interval MS] [--types FILE]\n\n' +
    'Records process PID for N seconds (default 5; Ctrl-C ends it early) and writes FILE in\n' +
    "Perfetto's protobuf format, which ui.perfetto.dev opens: per thread, its scheduling as slices\n" +
    '(running on CPU n, runnable or queued in a sched_ext DSQ, wake-ups with their waker) from the\n' +
    "kernel's sched_switch and sched_wakeup tracepoints, and a counter track per hint with its\n" +
    'values where they change, sampled every MS milliseconds (default 10), on one clock (boot time).',
  options: { out: { type: 'string' }, seconds: { type: 'string' }, interval: { type: 'string' } },
  async run(p, rest, g) {
    const pid = positiveInt(rest[0], 'PID');
    const file = p.options.get('out');
    if (!file) throw new UsageError('trace needs --out FILE');
    const seconds = p.options.has('seconds') ? positiveInt(p.options.get('seconds'), '--seconds') : 5;
    const intervalMs = p.options.has('interval') ? positiveInt(p.options.get('interval'), '--interval') : 10;
    const stop = new AbortController();
    const onInt = () => stop.abort();
    process.once('SIGINT', onInt);
    try {
      const [{ recordTrace }, { encodePerfetto }] = await Promise.all([import('../../client/traceRecorder'), import('../../client/perfettoTrace')]);
      return await withClient(g.pin, async (c) => {
        const t = await recordTrace(c, pid, { seconds, intervalMs, typeOf: typeOf(g.types), signal: stop.signal });
        const bytes = encodePerfetto(t);
        fs.writeFileSync(file, bytes);
        const ms = Number(t.end - t.start) / 1e6;
        out(
          `wrote ${file} (${bytes.length} bytes): ${t.threads.size} threads, ${t.events.length} scheduling events` +
            `${t.lost ? ` (${t.lost} lost: the reader fell behind)` : ''}, ${t.samples.length} hint samples over ${ms.toFixed(0)} ms; open it in ui.perfetto.dev`,
        );
        return 0;
      });
    } finally {
      process.off('SIGINT', onInt);
    }
  },
};

export const traceCommands: readonly Command[] = [trace];
