// What tldctl loads before it runs a command: its help, its option parsing and every command's
// description, but none of the modules only some commands use (the helper client, koffi,
// protobufjs, the compiler, the VM runner), which each command imports when it runs.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { repoRoot } from '../support/repo';

const tldctl = path.join(repoRoot, 'out', 'extension', 'src', 'cli', 'tldctl.js');

/** The modules (files under the repository, and node: builtins) that `tldctl @args` loaded, and its exit status. */
function loadedBy(args: readonly string[]): { files: string[]; builtins: string[]; status: number | null } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-cli-startup-'));
  try {
    // Preloaded: at exit, writes what the process has loaded.
    const probe = path.join(dir, 'probe.js');
    const list = path.join(dir, 'loaded.json');
    fs.writeFileSync(probe, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify({ files: Object.keys(require.cache), builtins: process.moduleLoadList })));\n`);
    const env = { ...process.env, TLD_PIN_DIR: path.join(dir, 'no-pin') };
    const r = spawnSync(process.execPath, ['-r', probe, tldctl, ...args], { env, encoding: 'utf8' });
    const loaded = JSON.parse(fs.readFileSync(list, 'utf8')) as { files: string[]; builtins: string[] };
    return {
      files: loaded.files.filter((f) => f !== probe).map((f) => path.relative(repoRoot, f)),
      builtins: loaded.builtins.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)),
      status: r.status,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Modules tldctl must not load before it knows the command needs them. */
const LATE = [/^node_modules\/koffi\//, /^node_modules\/protobufjs\//, /client\/(client|nativeHelper|hostHelper|helperStructs|loader|compiler|doctor|helperInstall|perfettoTrace|traceRecorder)\.js$/, /\/vm\//];

test('tldctl --help, a command\'s --help and a usage error load neither the helper client, koffi, protobufjs, the compiler nor the VM runner', () => {
  for (const args of [['--help'], ['load', '--help'], ['watch', '--help'], ['trace', '--help'], ['vm', '--help'], ['snapshot', 'not-a-pid']]) {
    const r = loadedBy(args);
    assert.equal(r.status, args.includes('--help') ? 0 : 2, `tldctl ${args.join(' ')}`);
    assert.ok(r.files.some((f) => f.endsWith(path.join('cli', 'tldctl.js'))), 'the probe saw tldctl load');
    assert.deepEqual(r.files.filter((f) => LATE.some((l) => l.test(f))), [], `tldctl ${args.join(' ')} loaded these early`);
    // Node compiles these builtins on first use: only the commands that use them should pay for
    // them (not net: Node's own stdout on a pipe is a net.Socket).
    assert.deepEqual(r.builtins.filter((b) => ['child_process', 'crypto', 'readline'].includes(b)), [], `tldctl ${args.join(' ')}`);
  }
});

test('the same probe sees what a command loads when it runs: tldctl compile loads the compiler', () => {
  const r = loadedBy(['compile', path.join(os.tmpdir(), 'tld-cli-startup-missing.bpf.c')]);
  assert.equal(r.status, 1);
  assert.ok(r.files.some((f) => f.endsWith(path.join('client', 'compiler.js'))), 'compile ran its own modules');
});
