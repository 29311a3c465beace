// tldctl doctor, ps, snapshot, watch and set: reading and changing live hints.
// Doctor's checks (the helper installer, koffi) are imported when doctor runs (command.ts says why).
import type { DoctorCheck } from '../../client/doctor';
import { TldError } from '../../client/errors';
import { printable } from '../../client/printable';
import type { ProcessSnapshot } from '../../client/snapshot';
import { KeyTypes, toJson } from '../../client/values';
import { UsageError, pidTid, positiveInt } from '../args';
import { ClientOpener, Command, Globals, out, sleep, withClient } from '../command';
import { SnapshotTexts, processTable, snapshotJson, snapshotText } from '../format';

const doctorCmd: Command = {
  name: 'doctor',
  summary: ['doctor [PID]                 what this host can do, and how to fix what it cannot'],
  help:
    'Usage: tldctl doctor [PID]\n\nChecks the kernel, BTF, bpffs, privileges, uptr support and the pinned map.\n' +
    'With PID, also whether that process\'s hints read right: its page size, layout revision, and\n' +
    'data that readers would look for elsewhere.\nExits 1 when a check fails, after saying how to fix it.',
  async run(_p, rest, g) {
    const pid = rest[0] === undefined ? undefined : positiveInt(rest[0], 'PID');
    const { doctor, doctorMark, processCheck } = await import('../../client/doctor');
    const checks: DoctorCheck[] = doctor(g.pin);
    if (pid !== undefined) checks.push(await withClient(g.pin, (c) => processCheck(pid, (p) => c.snapshot(p))));
    // Pin paths found in bpffs are anyone's names: shown escaped like a target's.
    for (const c of checks) out(`${doctorMark(c)} ${c.name}: ${printable(c.detail)}${!c.ok && c.fix ? `\n    fix: ${printable(c.fix)}` : ''}`);
    return checks.every((c) => c.ok) ? 0 : 1;
  },
};


const ps: Command = {
  name: 'ps',
  summary: ['ps [--json]                  processes that use task local data'],
  help: 'Usage: tldctl ps [--json]\n\nLists processes with task local data: pid, command, threads with hints, keys, page fill.',
  run: (_p, _rest, g) => psWith((fn) => withClient(g.pin, fn), g),
};

/** ps through @open: the host's helper, or a guest's (tldctl vm ps). */
export const psWith = (open: ClientOpener, g: Globals): Promise<number> =>
  open(async (c) => {
    const list = await c.processes();
    out(g.json ? toJson(list) : processTable(list));
    return 0;
  });

export const snapshotWith = (open: ClientOpener, pid: number, g: Globals): Promise<number> =>
  open(async (c) => {
    const s = await c.snapshot(pid);
    out(g.json ? toJson(snapshotJson(s, g.types)) : snapshotText(s, g.types));
    return 0;
  });

export async function setWith(open: ClientOpener, rest: readonly string[], g: Globals): Promise<number> {
  const { pid, tid } = pidTid(rest[0]);
  const [key, value] = [rest[1], rest[2]];
  if (key === undefined || value === undefined) throw new UsageError('set needs PID[:TID] KEY VALUE');
  return open(async (c) => {
    const written = await c.set(pid, tid, key, value, g.types.get(key));
    out(`set ${key} = ${value} in ${written.length} thread(s) of process ${pid}`);
    return 0;
  });
}

const snapshot: Command = {
  name: 'snapshot',
  summary: ['snapshot PID [--json]        one process\'s keys and every thread\'s values'],
  help:
    'Usage: tldctl snapshot PID [--json] [--types FILE]\n\nReads every thread of PID in one pass: its hints and how the scheduler holds it. --json prints\n{"pid":N,"comm":S,"keys":[{"name":S,"size":N,"offset":N}],"threads":[{"tid":N,"comm":S,"values":{"KEY":V},"sched":{...}}]}\nwhere V is a number for keys of 1, 2, 4 or 8 bytes (unsigned, little-endian, unless --types says\notherwise) and a 0x hex string otherwise. sched has cpu, state, policy, onCpu, prio, runtimeNs,\nrunDelayNs, timesRun, voluntarySwitches, involuntarySwitches and, on sched_ext kernels,\nscx {enabled, taskState, dsq, dsqId, sliceNs, weight, dsqVtime, flags} (enabled: sched_ext runs the\nthread, also a SCHED_NORMAL one under a scheduler in full mode); a field the kernel lacks is absent.',
  run: (_p, rest, g) => snapshotWith((fn) => withClient(g.pin, fn), positiveInt(rest[0], 'PID'), g),
};

export async function watchLoop(open: ClientOpener, pid: number, intervalMs: number, count: number, types: KeyTypes): Promise<number> {
  return open(async (c) => {
    const tty = process.stdout.isTTY;
    let shown = false;
    const texts = new SnapshotTexts(types);
    // The last refresh's snapshot: the next one's rates read it (texts keeps it until then).
    let held: ProcessSnapshot | undefined;
    for (let i = 0; count === 0 || i < count; i++) {
      // A refresh clears the terminal; piped, refreshes are apart by an empty line.
      const stamp = () => (tty ? '\x1b[2J\x1b[H' : i ? '\n' : '') + new Date().toISOString();
      let text: Uint8Array;
      try {
        const snap = await c.snapshot(pid);
        // On a terminal, as many threads as fit below the key table.
        const fit = tty ? Math.max(1, (process.stdout.rows || 40) - snap.keys.length - 8) : Infinity;
        text = texts.nextBytes(snap, fit, stamp());
        // The one before is read no more: its buffer takes the next snapshot.
        if (held) c.recycle(held.raw);
        held = snap;
        shown = true;
      } catch (e) {
        if (e instanceof TldError && e.code === 'ESRCH') {
          out(`process ${pid} exited`);
          return 0;
        }
        // Once it had hints, a moment without any (its threads with hints all ended) is not the end.
        if (!(shown && e instanceof TldError && e.code === 'ENOENT')) throw e;
        text = Buffer.from(`${stamp()}\n${e.message} at the moment\n`);
      }
      // Written before the next refresh (which writes into the same buffer), and at the pace of
      // whatever reads it.
      await new Promise<void>((done, fail) => process.stdout.write(text, (e) => (e ? fail(e) : done())));
      await sleep(intervalMs);
    }
    return 0;
  });
}

const watch: Command = {
  name: 'watch',
  summary: ['watch PID [--interval MS]    the same, refreshed until the process exits'],
  help: 'Usage: tldctl watch PID [--interval MS] [--count N] [--types FILE]\n\nPrints the snapshot every MS milliseconds (default 1000) until the process exits or N refreshes.\nFrom the second refresh on, the scheduling columns are rates over the interval: RUN% on a CPU,\nWAIT ms runnable but waiting, SW/s context switches.',
  options: { interval: { type: 'string' }, count: { type: 'string' } },
  run: (p, rest, g) =>
    watchLoop(
      (fn) => withClient(g.pin, fn),
      positiveInt(rest[0], 'PID'),
      p.options.has('interval') ? positiveInt(p.options.get('interval'), '--interval') : 1000,
      p.options.has('count') ? positiveInt(p.options.get('count'), '--count') : 0,
      g.types,
    ),
};

const set: Command = {
  name: 'set',
  summary: ['set PID[:TID] KEY VALUE      set a value in one thread, or in all of them'],
  help: 'Usage: tldctl set PID[:TID] KEY VALUE [--types FILE]\n\nWrites VALUE (an integer, 0x-prefixed hex, or hex bytes for larger keys) into KEY of thread TID,\nor of every thread of PID with hints. The value must fit the key.',
  run: (_p, rest, g) => setWith((fn) => withClient(g.pin, fn), rest, g),
};

export const inspectCommands: readonly Command[] = [doctorCmd, ps, snapshot, watch, set];
