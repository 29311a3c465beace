// tldctl attach and detach: hints for a process that has none, held while attach runs.
import * as fs from 'node:fs';

import { TldError } from '../../client/errors';
import { UsageError, keySpec, positiveInt } from '../args';
import {
  AttachRecord, commandLine, ensureRunDir, holderState, identify, readRecord, recordPath, runDir, stillRuns, writeRecord,
} from '../attachRecord';
import { Command, out, sleep, withClient } from '../command';

async function attachAndHold(pin: string, pid: number, specs: readonly string[], sets: readonly string[]): Promise<number> {
  if (specs.length === 0) throw new UsageError('give at least one KEY:SIZE');
  const keys = specs.map(keySpec);
  // The run folder before the target is touched: a folder we cannot use must not undo an attach.
  const file = recordPath(ensureRunDir(), pid);
  const target = identify(pid);
  const self = identify(process.pid);
  const cmdline = commandLine(process.pid);
  if (!target) throw new TldError('ESRCH', `process ${pid} does not exist`);
  if (!self || !cmdline) throw new TldError('EIO', 'cannot read this process\'s own /proc entry');
  return withClient(pin, async (c) => {
    await c.attach(pid, keys);
    // From here on, a failure detaches (the helper's cleaner does it too if we are killed).
    try {
      for (const s of sets) {
        const i = s.indexOf('=');
        if (i <= 0) throw new UsageError(`--set takes KEY=VALUE, not '${s}'`);
        await c.set(pid, 0, s.slice(0, i), s.slice(i + 1));
      }
      const rec: AttachRecord = { holder: { ...self, cmdline }, target };
      writeRecord(file, rec);
    } catch (e) {
      await c.detach(pid).catch(() => undefined);
      throw e;
    }
    out(`attached ${keys.length} key(s) to process ${pid}; Ctrl-C or \`tldctl detach ${pid}\` detaches`);
    let stop = false;
    const onSignal = () => (stop = true);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Hold the pages until asked to stop or the target exits (its pid may be reused at once).
    // Once a second, check the hints are still there: a helper host killed under us took them.
    let lost: TldError | undefined;
    for (let tick = 1; !stop; tick++) {
      if (!stillRuns(target)) {
        out(`process ${pid} exited`);
        break;
      }
      if (tick % 5 === 0) {
        lost = await c.snapshot(pid).then(
          () => undefined,
          (e: unknown) => (e instanceof TldError ? e : new TldError('EIO', String(e))),
        );
        if (lost?.code === 'ESRCH') {
          lost = undefined; // exited meanwhile
          out(`process ${pid} exited`);
          break;
        }
        if (lost) break;
      }
      await sleep(200);
    }
    if (lost) {
      fs.rmSync(file, { force: true });
      throw new TldError(lost.code, `the hints of process ${pid} are gone (${lost.message}); not attached any more`);
    }
    try {
      await c.detach(pid);
    } catch (e) {
      if (!(e instanceof TldError && e.code === 'ENOENT')) throw e; // gone with its process
    } finally {
      fs.rmSync(file, { force: true });
    }
    out(`detached from process ${pid}`);
    return 0;
  });
}

const attach: Command = {
  name: 'attach',
  summary: ['attach PID KEY:SIZE...       give a process without task local data these keys'],
  help:
    'Usage: tldctl attach PID KEY:SIZE... [--set KEY=VALUE]...\n\nGives a process that does not use task local data the keys, for every thread, including threads\nstarted later, and stays running to keep them; Ctrl-C or `tldctl detach PID` removes them, and so\ndoes this process\'s death, however it dies. Its run file (holder and target, with their start\ntimes) is in $TLD_RUN_DIR, else /run/tld-studio/attach for root and\n$XDG_RUNTIME_DIR/tld-studio/attach (or a private folder in the temporary folder) for other users.',
  options: { set: { type: 'string', multiple: true } },
  run: (p, rest, g) => attachAndHold(g.pin, positiveInt(rest[0], 'PID'), rest.slice(1), p.lists.get('set') ?? []),
};

/** After the holder died: whether the target still has hints (its cleaner removes them at once). */
async function hintsLeft(pin: string, pid: number): Promise<boolean> {
  return withClient(pin, async (c) => {
    for (let i = 0; i < 40; i++) {
      try {
        await c.snapshot(pid);
      } catch (e) {
        if (e instanceof TldError && (e.code === 'ENOENT' || e.code === 'ESRCH')) return false;
        throw e;
      }
      await sleep(50);
    }
    return true;
  });
}

const detach: Command = {
  name: 'detach',
  summary: ['detach PID                   remove what attach gave'],
  help:
    'Usage: tldctl detach PID\n\nEnds a running `tldctl attach PID`, which deletes every entry it made. Only the process the run\nfile records (same start time and command line) is signalled; a run file left by an attach that\ndied is removed.',
  async run(_p, rest, g) {
    const pid = positiveInt(rest[0], 'PID');
    const file = recordPath(runDir(), pid);
    let rec: AttachRecord;
    try {
      rec = readRecord(file);
    } catch (e) {
      if (e instanceof TldError && e.code === 'ENOENT') throw new TldError('ENOENT', `process ${pid} is not attached by tldctl (no ${file})`);
      throw e;
    }
    if (rec.target.pid !== pid) throw new TldError('EINVAL', `${file} records process ${rec.target.pid}, not ${pid}; not signalling anything`);
    const holder = rec.holder.pid;
    const state = holderState(rec);
    switch (state.kind) {
      case 'attached':
        try {
          process.kill(holder, 'SIGTERM');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EPERM') throw new TldError('EPERM', `cannot signal the tldctl attach of process ${pid} (pid ${holder}): it runs as another user; run detach as that user`);
          throw new TldError('EIO', `cannot signal the tldctl attach of process ${pid} (pid ${holder}): ${code ?? String(e)}`);
        }
        for (let i = 0; i < 100 && fs.existsSync(file); i++) await sleep(50);
        if (fs.existsSync(file)) throw new TldError('EIO', `tldctl attach (pid ${holder}) did not detach in time`);
        out(`detached from process ${pid}`);
        return 0;
      case 'gone': {
        fs.rmSync(file, { force: true });
        if (!stillRuns(rec.target)) {
          out(`process ${pid} and its tldctl attach (pid ${holder}) are gone; removed ${file}`);
          return 0;
        }
        if (await hintsLeft(g.pin, pid)) {
          throw new TldError('EIO', `the tldctl attach of process ${pid} (pid ${holder}) died, yet the process still has hints; removed ${file}`);
        }
        out(`the tldctl attach of process ${pid} (pid ${holder}) had died and its hints went with it; removed ${file}`);
        return 0;
      }
      case 'other':
        throw new TldError('EPERM', `not signalling process ${holder}: ${state.why}, so it is not the tldctl attach recorded in ${file}`);
      default: {
        const never: never = state;
        return never;
      }
    }
  },
};

export const attachCommands: readonly Command[] = [attach, detach];
