// Doctor on several maps named tld_data_map: a pin is stale only when nothing uses its map (no
// loaded program, no task with an entry); the advice names the folders the others are pinned in
// and never tells the user to remove a pin in use.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, test } from 'node:test';

import { TldClient } from '../../extension/src/client/client';
import { Proc, fixtureBinary, run, runTldctl } from '../support/processes';
import { World } from '../support/world';

const world = new World('doctor-pins');
/** A second pin folder of this test's own. */
const otherDir = `/sys/fs/bpf/tld-it-doctor-pins-other-${process.pid}`;
after(async () => {
  await world.dispose();
  fs.rmSync(otherDir, { recursive: true, force: true });
});

/** The hints fixture publishing into the map pinned in @pinDir (created there when absent). */
async function publisher(pinDir: string): Promise<Proc> {
  const p = world.procs.spawn(fixtureBinary, ['--mode', 'hints', '--threads', '2', '--keys', '2'], `fixture in ${pinDir}`, {
    env: { ...world.env, TLD_PIN_DIR: pinDir },
  });
  await p.waitForLine(/^ready \d+/);
  return p;
}

/** `tldctl doctor --pin PIN`: its exit code, and the pinned map's line with its fix line. */
async function pinnedMapCheck(pin: string): Promise<{ code: number | null; line: string; fix: string; all: string }> {
  const r = await runTldctl(world.procs, ['doctor', '--pin', pin], { env: world.env, timeoutMs: 60_000 });
  const lines = r.stdout.split('\n');
  const at = lines.findIndex((l) => / pinned map: /.test(l));
  assert.ok(at >= 0, `doctor has a pinned map check:\n${r.stdout}\n${r.stderr}`);
  const next = lines[at + 1] ?? '';
  return { code: r.code, line: lines[at] as string, fix: /^\s+fix: /.test(next) ? next : '', all: r.stdout };
}

/** Every `rm PATH` the text advises. */
const removals = (text: string) => [...text.matchAll(/\brm (\S+?)(?=[\s,;)]|\.(?:\s|$)|$)/g)].map((m) => m[1] as string);

test('doctor with two pin folders each holding a live map never advises removing either, and names the other folder when this one lacks what it has', async () => {
  fs.mkdirSync(otherDir, { recursive: true });
  const here = await publisher(world.pinDir);
  const there = await publisher(otherDir);
  const otherPin = `${otherDir}/tld_data_map`;
  // Programs on the other map (the helper's iterators), as a scheduler's would be.
  const reader = await TldClient.create({ pinPath: otherPin, transport: 'in-process' });
  let hereReader: TldClient | undefined;
  try {
    assert.equal((await reader.processes()).length, 1);

    // Hints here that no program reads, while programs read the other map.
    const a = await pinnedMapCheck(world.pinPath);
    assert.equal(a.code, 1, a.all);
    assert.match(a.line, new RegExp(`^✗ pinned map: ${world.pinPath} \\(map id \\d+, used by 0 program\\(s\\) and 2 task\\(s\\)\\): no loaded program reads the hints of the 2 task\\(s\\) on the map pinned here`), a.all);
    assert.ok(a.fix.includes(`pinned as ${otherPin}`), `the advice names the other folder's pin:\n${a.all}`);
    assert.match(a.fix, /this pin is in use, and so are those: remove none of them/);
    assert.deepEqual(removals(a.all).filter((r) => r === world.pinPath || r === otherPin), [], a.all);

    // The other map has programs and tasks: a world of its own, which passes.
    const b = await pinnedMapCheck(otherPin);
    assert.match(b.line, new RegExp(`^✓ pinned map: ${otherPin} \\(map id \\d+, used by [1-9]\\d* program\\(s\\) and 2 task\\(s\\)\\)$`), b.all);
    assert.deepEqual(removals(b.all).filter((r) => r === world.pinPath || r === otherPin), [], b.all);

    // Programs here that read no hints (this pin's tasks gone), while tasks write into the other map.
    await here.kill();
    hereReader = await TldClient.create({ pinPath: world.pinPath, transport: 'host', launcher: [] });
    assert.deepEqual(await hereReader.processes(), []);
    const c = await pinnedMapCheck(world.pinPath);
    assert.equal(c.code, 1, c.all);
    assert.match(c.line, /used by [1-9]\d* program\(s\) and 0 task\(s\)\): the [1-9]\d* program\(s\) on the map pinned here \(id \d+\) read no task's hints, while tasks write into/, c.all);
    assert.ok(c.fix.includes(`pinned as ${otherPin}`), c.all);
    assert.deepEqual(removals(c.all).filter((r) => r === world.pinPath || r === otherPin), [], c.all);
  } finally {
    hereReader?.dispose();
    reader.dispose();
    await here.kill();
    await there.kill();
  }
});

test('doctor on a truly stale pin (its map unused) beside a live one: it calls the pin stale, may advise removing it, and names the live folder', async () => {
  fs.mkdirSync(otherDir, { recursive: true });
  // A map pinned here whose only user exits: the pin stays, with no program and no task on it.
  const gone = await publisher(world.pinDir);
  await gone.kill();
  const live = await publisher(otherDir);
  try {
    const stale = await pinnedMapCheck(world.pinPath);
    assert.equal(stale.code, 1, stale.all);
    assert.match(stale.line, new RegExp(`^✗ pinned map: ${world.pinPath} \\(map id \\d+, used by 0 program\\(s\\) and 0 task\\(s\\)\\): stale pin: no program and no task uses the map pinned here`), stale.all);
    assert.ok(stale.fix.includes(`pinned as ${otherDir}/tld_data_map`), stale.all);
    assert.ok(removals(stale.fix).includes(world.pinPath), `removing the unused pin is advised: ${stale.fix}`);
    assert.ok(!removals(stale.all).includes(`${otherDir}/tld_data_map`), 'never the live one');

    // From the live pin's side: the unused one is at most named as safe to remove.
    const fromLive = await pinnedMapCheck(`${otherDir}/tld_data_map`);
    assert.match(fromLive.line, /used by \d+ program\(s\) and 2 task\(s\)/);
    assert.ok(!removals(fromLive.all).includes(`${otherDir}/tld_data_map`), fromLive.all);
    if (fromLive.fix.includes(world.pinPath)) assert.match(fromLive.fix, new RegExp(`Unused \\(stale\\), safe to remove: map id \\d+, sudo rm ${world.pinPath}`));
  } finally {
    await live.kill();
  }
});

test('doctor on a pin of another shape that nothing uses gives the reason and advises removing it', async () => {
  const dir = `${otherDir}-wrong`;
  fs.mkdirSync(dir, { recursive: true });
  try {
    const r = await run(world.procs, 'bpftool', ['map', 'create', `${dir}/tld_data_map`, 'type', 'hash', 'key', '4', 'value', '4', 'entries', '1', 'name', 'not_tld']);
    assert.equal(r.code, 0, r.stderr);
    const c = await pinnedMapCheck(`${dir}/tld_data_map`);
    assert.equal(c.code, 1, c.all);
    assert.match(c.line, /used by 0 program\(s\) and 0 task\(s\)\): map 'not_tld' has type 1, .*task local data needs type 29/, c.all);
    assert.equal(c.fix.trim(), `fix: nothing uses it: sudo rm ${dir}/tld_data_map, then restart the programs that use task local data`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
