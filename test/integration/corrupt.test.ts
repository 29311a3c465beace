// Hostile metadata, built on purpose by the fixture, is refused with ECORRUPT and a reason:
// by the client (never a partial or garbage snapshot) and by tldctl (exit 1, one line).
import * as assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { runTldctl, stackLines } from '../support/processes';
import { World } from '../support/world';

const world = new World('corrupt');
after(() => world.dispose());

const cases = [
  { mode: 'corrupt-count', about: 'a key count beyond the table', reason: /count 200 is beyond the table of 63 entries/ },
  { mode: 'corrupt-name', about: 'an unterminated key name', reason: /entry 1 has an unterminated name/ },
  { mode: 'corrupt-size', about: 'a key that runs past the page', reason: /key 'fx\.huge' \(5000 bytes at offset 8\) runs past the page/ },
] as const;

for (const c of cases) {
  test(`metadata with ${c.about} is refused as ECORRUPT by the client and by tldctl snapshot`, async () => {
    const { proc } = await world.procs.fixture(['--mode', c.mode]);
    try {
      const client = await world.client();
      await assert.rejects(client.snapshot(proc.pid), (e: unknown) => {
        assert.ok(e instanceof TldError, `not a TldError: ${String(e)}`);
        assert.equal(e.code, 'ECORRUPT');
        assert.match(e.message, new RegExp(`^process ${proc.pid} has corrupt task local data metadata: `));
        assert.match(e.message, c.reason);
        return true;
      });

      const r = await runTldctl(world.procs, ['snapshot', String(proc.pid)], { env: world.env });
      assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, c.reason);
      assert.match(r.stderr, /^tldctl: process \d+ has corrupt task local data metadata: /);
      assert.deepEqual(stackLines(r.stderr), []);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');

      // The JSON form refuses it just the same (no partial output).
      const j = await runTldctl(world.procs, ['snapshot', String(proc.pid), '--json'], { env: world.env });
      assert.equal(j.code, 1);
      assert.equal(j.stdout, '');
      assert.match(j.stderr, c.reason);
    } finally {
      await proc.kill();
    }
  });
}
