// The kernel cache's lock between real processes: mutual exclusion, a live holder is never
// overridden, and a killed holder's lock is free at once (vm/folderLock.ts).
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { acquireFolderLock } from '../../extension/src/vm/folderLock';

const lockModule = path.resolve(__dirname, '..', '..', 'extension', 'src', 'vm', 'folderLock.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-folder-lock-'));
const children = new Set<ChildProcess>();

after(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A node child running @script with the lock module as `lock` and the folder as `dir`. */
function child(script: string): ChildProcess {
  const c = spawn(process.execPath, ['-e', `const { acquireFolderLock: lock } = require(${JSON.stringify(lockModule)}); const dir = ${JSON.stringify(dir)};\n${script}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

function exited(c: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(c.exitCode) : c.on('exit', (code) => resolve(code))));
}

function firstLine(c: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    c.stdout!.on('data', (b: Buffer) => {
      text += b.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) resolve(text.slice(0, nl));
    });
    c.on('exit', () => reject(new Error(`child exited before a line: ${text}`)));
  });
}

test('two processes that each increment a shared counter 25 times under the lock lose no increment', async () => {
  const counter = path.join(dir, 'counter');
  fs.writeFileSync(counter, '0');
  // Read, wait, write: without mutual exclusion the two would overwrite each other's counts.
  const script = `
const fs = require('node:fs');
const file = ${JSON.stringify(counter)};
(async () => {
  for (let i = 0; i < 25; i++) {
    const release = await lock(dir);
    const n = Number(fs.readFileSync(file, 'utf8'));
    await new Promise((r) => setTimeout(r, 5));
    fs.writeFileSync(file, String(n + 1));
    release();
    await new Promise((r) => setImmediate(r));
  }
})().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
  const a = child(script);
  const b = child(script);
  assert.deepEqual(await Promise.all([exited(a), exited(b)]), [0, 0]);
  assert.equal(fs.readFileSync(counter, 'utf8'), '50');
});

test('a live holder keeps the lock (the waiter is told its pid and gives up), and a SIGKILLed holder\'s lock is taken at once', async () => {
  const holder = child(`lock(dir).then(() => console.log('locked'));\nsetInterval(() => {}, 1000);`);
  assert.equal(await firstLine(holder), 'locked');
  const waited: number[] = [];
  await assert.rejects(
    acquireFolderLock(dir, { timeoutMs: 1500, onWait: (pid) => waited.push(pid), what: 'testing' }),
    (e: unknown) => e instanceof TldError && e.code === 'EALREADY' && e.message.includes(`process ${holder.pid}`),
  );
  assert.deepEqual(waited, [holder.pid]);
  holder.kill('SIGKILL');
  await exited(holder);
  // No stale-lock judgement is involved: the kernel dropped the dead holder's flock.
  const release = await acquireFolderLock(dir, { timeoutMs: 0, onWait: () => assert.fail('waited for a dead holder') });
  release();
});

test('a lock file naming a process that is gone, as the old pid-file lock left it, does not hold anyone up', async () => {
  fs.writeFileSync(path.join(dir, '.lock'), '4194000 0123456789ab');
  const release = await acquireFolderLock(dir, { timeoutMs: 0, onWait: () => assert.fail('waited for a pid in a file') });
  assert.equal(fs.readFileSync(path.join(dir, '.lock'), 'utf8'), `${process.pid}\n`);
  release();
  release(); // idempotent
  assert.equal(fs.readFileSync(path.join(dir, '.lock'), 'utf8'), '');
});

test('a live holder of the older pid-file lock is waited for, not overridden, and its lock is taken once it is gone', async () => {
  const old = child('setInterval(() => {}, 1000); console.log("up");');
  assert.equal(await firstLine(old), 'up');
  fs.writeFileSync(path.join(dir, '.lock'), `${old.pid} 0123456789ab`);
  await assert.rejects(acquireFolderLock(dir, { timeoutMs: 1200 }), (e: unknown) => e instanceof TldError && e.code === 'EALREADY' && e.message.includes(`process ${old.pid}`));
  old.kill('SIGKILL');
  await exited(old);
  const release = await acquireFolderLock(dir, { timeoutMs: 0 });
  release();
});

test('the helper opens in a process that took a folder lock first, as the extension host does after a vm run', async () => {
  // Both reach native code through koffi: the lock loaded libc before the helper set koffi up.
  const clientModule = path.resolve(__dirname, '..', '..', 'extension', 'src', 'client', 'client.js');
  const pins = `/sys/fs/bpf/tld-lock-order-${process.pid}`;
  try {
    const c = child(`const { TldClient } = require(${JSON.stringify(clientModule)});
(async () => {
  (await lock(dir))();
  const client = await TldClient.create({ pinPath: ${JSON.stringify(`${pins}/tld_data_map`)}, transport: 'in-process' });
  await client.processes();
  client.dispose();
  console.log('opened');
})().catch((e) => console.log('failed: ' + e.message));`);
    assert.equal(await firstLine(c), 'opened');
    await exited(c);
  } finally {
    fs.rmSync(pins, { recursive: true, force: true });
  }
});
