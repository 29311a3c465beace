// The helper host's send buffer: grown on a real socket (a child's stdio socketpair, the host's
// own kind of stdout), and a no-op on what is not a socket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { growSendBuffer } from '../../extension/src/client/socketBuffer';

test('growSendBuffer grows a stdio socket\'s send buffer, past the system limit where this process may', async () => {
  const child = spawn('sleep', ['30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const fd = (child.stdout as unknown as { _handle: { fd: number } })._handle.fd;
    assert.ok(fd > 2, `the parent's end of the socketpair: ${fd}`);
    const want = 4 << 20;
    const got = growSendBuffer(fd, want);
    const wmemMax = Number(fs.readFileSync('/proc/sys/net/core/wmem_max', 'utf8'));
    // The kernel reports twice what it was given; without CAP_NET_ADMIN, wmem_max caps the ask.
    const floor = process.getuid?.() === 0 ? 2 * want : 2 * Math.min(want, wmemMax);
    assert.ok(got >= floor, `send buffer ${got} bytes, expected at least ${floor}`);
  } finally {
    child.kill();
  }
});

test('growSendBuffer leaves what is not a socket alone and says 0', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-sndbuf-'));
  const fd = fs.openSync(path.join(dir, 'f'), 'w');
  try {
    assert.equal(growSendBuffer(fd, 1 << 20), 0);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
