// tldctl attach and detach: hints for a process that has none, held while attach runs.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../../client/errors';
import { UsageError, keySpec, positiveInt } from '../args';
import { Command, out, sleep, withClient } from '../command';

const runDir = () => process.env.TLD_RUN_DIR || '/run/tld-studio/attach';

async function attachAndHold(pin: string, pid: number, specs: readonly string[], sets: readonly string[]): Promise<number> {
  if (specs.length === 0) throw new UsageError('give at least one KEY:SIZE');
  const keys = specs.map(keySpec);
  return withClient(pin, async (c) => {
    await c.attach(pid, keys);
    for (const s of sets) {
      const i = s.indexOf('=');
      if (i <= 0) throw new UsageError(`--set takes KEY=VALUE, not '${s}'`);
      await c.set(pid, 0, s.slice(0, i), s.slice(i + 1));
    }
    const file = path.join(runDir(), String(pid));
    fs.mkdirSync(runDir(), { recursive: true });
    fs.writeFileSync(file, String(process.pid));
    out(`attached ${keys.length} key(s) to process ${pid}; Ctrl-C or \`tldctl detach ${pid}\` detaches`);
    let stop = false;
    const onSignal = () => (stop = true);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Hold the pages until asked to stop or the target exits.
    while (!stop) {
      try {
        process.kill(pid, 0);
      } catch {
        out(`process ${pid} exited`);
        break;
      }
      await sleep(200);
    }
    try {
      await c.detach(pid);
    } catch (e) {
      if (!(e instanceof TldError && e.code === 'ENOENT')) throw e; // gone with its process
    }
    fs.rmSync(file, { force: true });
    out(`detached from process ${pid}`);
    return 0;
  });
}

const attach: Command = {
  name: 'attach',
  summary: ['attach PID KEY:SIZE...       give a process without task local data these keys'],
  help:
    'Usage: tldctl attach PID KEY:SIZE... [--set KEY=VALUE]...\n\nGives a process that does not use task local data the keys, for every thread, including threads\nstarted later, and stays running to keep them; Ctrl-C or `tldctl detach PID` removes them.',
  valued: ['set'],
  run: (p, rest, g) => attachAndHold(g.pin, positiveInt(rest[0], 'PID'), rest.slice(1), p.lists.get('set') ?? []),
};

const detach: Command = {
  name: 'detach',
  summary: ['detach PID                   remove what attach gave'],
  help: 'Usage: tldctl detach PID\n\nEnds a running `tldctl attach PID`, which deletes every entry it made.',
  async run(_p, rest) {
    const pid = positiveInt(rest[0], 'PID');
    const file = path.join(runDir(), String(pid));
    let holder: number;
    try {
      holder = Number(fs.readFileSync(file, 'utf8'));
    } catch {
      throw new TldError('ENOENT', `process ${pid} is not attached by tldctl (no ${file})`);
    }
    try {
      process.kill(holder, 'SIGTERM');
    } catch {
      fs.rmSync(file, { force: true });
      throw new TldError('ENOENT', `the tldctl attach of process ${pid} is gone`);
    }
    for (let i = 0; i < 100 && fs.existsSync(file); i++) await sleep(50);
    if (fs.existsSync(file)) throw new TldError('EIO', `tldctl attach (pid ${holder}) did not detach in time`);
    out(`detached from process ${pid}`);
    return 0;
  },
};

export const attachCommands: readonly Command[] = [attach, detach];
