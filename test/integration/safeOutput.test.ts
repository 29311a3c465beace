// A target chooses its thread names and key names: tldctl shows them with control characters
// escaped (no terminal title set, no screen cleared), in tables, text and errors, and keeps
// them exact in JSON.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, test } from 'node:test';

import { Proc, runTldctl } from '../support/processes';
import { World } from '../support/world';

const world = new World('safe-output');
after(() => world.dispose());

/** 12 bytes, under comm's 15: sets the terminal's title, then would clear the screen. */
const HOSTILE_COMM = '\x1b]0;PWN\x07\x1b[2J';
const SHOWN_COMM = '\\x1b]0;PWN\\x07\\x1b[2J';
const HOSTILE_KEYS = [
  { name: '\x1b]0;title\x07', size: 4, shown: '\\x1b]0;title\\x07' },
  { name: 'k\x1b[2J\u009b31m\u202e', size: 1, shown: 'k\\x1b[2J\\x9b31m\\u202e' },
] as const;

/** What a terminal would act on: C0 but newline, DEL, C1, bidirectional overrides. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A node process that names every one of its threads HOSTILE_COMM, then says ready. */
const TARGET = `
const fs = require('node:fs');
for (const tid of fs.readdirSync('/proc/self/task')) fs.writeFileSync('/proc/self/task/' + tid + '/comm', ${JSON.stringify(HOSTILE_COMM)});
console.log('ready ' + process.pid);
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
`;

async function hostileTarget(): Promise<Proc> {
  const p = world.procs.spawn(process.execPath, ['-e', TARGET], 'node target with a hostile comm');
  await p.waitForLine(/^ready \d+$/);
  return p;
}

function assertNoRawControl(text: string, what: string): void {
  const m = RAW_CONTROL.exec(text);
  assert.equal(m, null, `${what} has a raw control character U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0')}:\n${JSON.stringify(text)}`);
}

test('tldctl ps, snapshot and its errors show a target\'s comm and key names with ESC sequences escaped; --json keeps them exact', async () => {
  const target = await hostileTarget();
  const bare = await hostileTarget();
  const client = await world.client();
  try {
    assert.equal(fs.readFileSync(`/proc/${target.pid}/comm`, 'utf8').trimEnd(), HOSTILE_COMM, 'the kernel kept the hostile comm');
    await client.attach(target.pid, HOSTILE_KEYS.map(({ name, size }) => ({ name, size })));
    const env = { env: world.env };

    const ps = await runTldctl(world.procs, ['ps', '--pin', world.pinPath], env);
    assert.equal(ps.code, 0, ps.stderr);
    assertNoRawControl(ps.stdout, 'tldctl ps');
    const row = ps.stdout.split('\n').find((l) => l.startsWith(`${target.pid} `));
    assert.ok(row?.includes(SHOWN_COMM), `ps shows the comm escaped: ${JSON.stringify(ps.stdout)}`);

    const snap = await runTldctl(world.procs, ['snapshot', String(target.pid), '--pin', world.pinPath], env);
    assert.equal(snap.code, 0, snap.stderr);
    assertNoRawControl(snap.stdout, 'tldctl snapshot');
    assert.ok(snap.stdout.includes(`process ${target.pid} (${SHOWN_COMM})`), snap.stdout);
    for (const k of HOSTILE_KEYS) assert.ok(snap.stdout.includes(k.shown), `snapshot shows key ${k.shown}: ${JSON.stringify(snap.stdout)}`);

    const json = await runTldctl(world.procs, ['snapshot', String(target.pid), '--json', '--pin', world.pinPath], env);
    assert.equal(json.code, 0, json.stderr);
    assertNoRawControl(json.stdout, 'tldctl snapshot --json (JSON escapes them)');
    const doc = JSON.parse(json.stdout) as { comm: string; keys: { name: string }[]; threads: { comm: string }[] };
    assert.equal(doc.comm, HOSTILE_COMM, 'JSON carries the exact comm');
    assert.deepEqual(doc.keys.map((k) => k.name), HOSTILE_KEYS.map((k) => k.name), 'JSON carries the exact key names');
    assert.ok(doc.threads.every((t) => t.comm === HOSTILE_COMM));

    const set = await runTldctl(world.procs, ['set', String(target.pid), 'no.such\x1b[2J', '1', '--pin', world.pinPath], env);
    assert.equal(set.code, 1);
    assertNoRawControl(set.stderr, 'the error of set with an unknown key');
    assert.match(set.stderr, /has no key 'no\.such\\x1b\[2J'; its keys: /);
    for (const k of HOSTILE_KEYS) assert.ok(set.stderr.includes(k.shown), `the error lists key ${k.shown}: ${JSON.stringify(set.stderr)}`);

    const none = await runTldctl(world.procs, ['snapshot', String(bare.pid), '--pin', world.pinPath], env);
    assert.equal(none.code, 1);
    assertNoRawControl(none.stderr, 'the error of a snapshot of a process without hints');
    assert.equal(none.stderr, `tldctl: process ${bare.pid} (${SHOWN_COMM}) has no task local data\n`);
  } finally {
    await client.detach(target.pid).catch(() => undefined);
    await target.kill();
    await bare.kill();
  }
});
