// The installed helper host as sudo starts it for an ordinary user: root, with SUDO_UID and
// SUDO_GID naming the test user, no options, its configuration from /etc. It serves that
// user's own process (started with CAP_BPF + CAP_PERFMON) and refuses everything else:
// root's and another user's processes, kthreadd, pins outside its root or through symlinks,
// ids that would wrap, writes past a key, `--lib`, files the user cannot read. Every refusal
// is checked to have changed nothing on disk or in the target.
//
// The host runs in a mount namespace of its own with a fresh bpffs at /sys/fs/bpf, where the
// test pins the world's map at the configured pin path: its pins are the test's alone, and the
// test reads them through /proc/HOST/root.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { TldClient } from '../../extension/src/client/client';
import { compile } from '../../extension/src/client/compiler';
import { readHostConfig } from '../../extension/src/client/hostConfig';
import { readCreds } from '../../extension/src/client/hostPolicy';
import { NativeHelper } from '../../extension/src/client/nativeHelper';
import { TldError } from '../../extension/src/client/errors';
import { parseSnapshot } from '../../extension/src/client/snapshot';
import { decodeTrace } from '../../extension/src/client/records';
import { CLIENT_HELLO, Frame, FrameReader, REPLY_LIMITS, encodeFrame, parseHostReply } from '../../extension/src/client/protocol';
import { Proc, fixtureBinary, taskIds } from '../support/processes';
import { repoRoot } from '../support/repo';
import { TestUser, asUser, ensureTestUser } from '../support/user';
import { World, fixtureKeyName, fixtureValue, valuesByTid } from '../support/world';

const world = new World('hostpolicy');
const user: TestUser = ensureTestUser();
const config = readHostConfig();
const hostScript = path.join(repoRoot, 'out', 'extension', 'src', 'client', 'helperHost.js');
/** A folder of the test's files that the test user can read (objects) and one it cannot. */
const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-it-hostpolicy-'));
fs.chmodSync(shared, 0o755);
const secret = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-it-hostpolicy-secret-'));
fs.chmodSync(secret, 0o700);

let local: TldClient;
let mapId = 0;
let object = '';

type Reply = { id: number; ok: true; result: Record<string, unknown> } | { id: number; ok: false; error: { code: string; message: string } };
type Hello = { abi: number; error?: { code: string; message: string } };

/** Frames as the host writes them, read with the protocol's own reader; waited for by what they say. */
class HostOutput {
  private readonly frames: Frame[] = [];
  private readonly waiters = new Set<() => void>();
  private error: Error | undefined;
  readonly reader = new FrameReader(REPLY_LIMITS, (f) => this.add(f), (e) => { this.error = e; this.wake(); }, 'the helper host');

  private add(f: Frame): void {
    this.frames.push(f);
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** The first frame whose header @match accepts (earlier ones count too); rejects after @timeoutMs or on a framing error. */
  waitFor(match: (header: Record<string, unknown>) => boolean, proc: () => Proc, timeoutMs: number): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = this.frames.find((x) => x.header && match(x.header));
        if (f) return done(undefined, f);
        if (this.error) return done(this.error);
        if (proc().exit) return done(new Error(`the helper host ended (${JSON.stringify(proc().exit)}): ${proc().stderr}`));
        return undefined;
      };
      const timer = setTimeout(() => done(new Error(`the helper host wrote no such frame within ${timeoutMs} ms: ${proc().stderr}`)), timeoutMs);
      const done = (e: Error | undefined, f?: Frame) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (e) reject(e);
        else resolve(f as Frame);
      };
      this.waiters.add(check);
      check();
    });
  }
}

/** The host started as sudo starts it, talked to in its protocol's frames. */
class Host {
  private nextId = 1;

  constructor(
    readonly proc: Proc,
    private readonly output: HostOutput,
  ) {}

  /** The host's view of /sys/fs/bpf (its own bpffs), from outside. */
  bpffs(...parts: string[]): string {
    return path.join(`/proc/${this.proc.pid}/root/sys/fs/bpf`, ...parts);
  }

  /** Where the host pins programs, from outside. */
  get pinRoot(): string {
    return this.bpffs(path.relative('/sys/fs/bpf', config.programPinRoot));
  }

  /** @method with @params; params.bytes (a write's) go as the frame's payload. */
  async request(method: string, params: Record<string, unknown> & { bytes?: Uint8Array } = {}): Promise<Reply> {
    const id = this.nextId++;
    const { bytes, ...rest } = params;
    for (const chunk of encodeFrame({ id, method, ...rest }, bytes)) this.proc.child.stdin!.write(chunk);
    const frame = await this.output.waitFor((h) => h.id === id, () => this.proc, 60_000);
    const reply = parseHostReply(frame);
    assert.ok(reply && !('hello' in reply), `a reply: ${frame.text}`);
    return reply as Reply;
  }

  async ok(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const r = await this.request(method, params);
    assert.ok(r.ok, `${method} ${JSON.stringify(params)}: ${JSON.stringify(r)}`);
    return r.result;
  }

  /** Asserts @method was refused, as an error reply or (objectLoad) a load result with an error. */
  async refused(method: string, params: Record<string, unknown>, code: string, message: RegExp): Promise<void> {
    const r = await this.request(method, params);
    const error = r.ok ? (r.result.ok === false ? (r.result.error as { code: string; message: string }) : undefined) : r.error;
    assert.ok(error, `${method} ${JSON.stringify(params)} was served: ${JSON.stringify(r)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
  }
}

/** sudo's environment for the host: the caller's ids, nothing of this test's. */
function sudoEnv(): NodeJS.ProcessEnv {
  return { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', SUDO_UID: String(user.uid), SUDO_GID: String(user.gid), SUDO_USER: user.name };
}

/** Starts the host in its own mount namespace and bpffs, with @args; its hello line. */
async function startHost(args: readonly string[] = [], env = sudoEnv()): Promise<{ host: Host; hello: Hello }> {
  const output = new HostOutput();
  const script = 'mount -t bpf bpf /sys/fs/bpf && mkdir -p "$(dirname "$PIN")" && bpftool map pin id "$MAP_ID" "$PIN" && exec "$@"';
  const proc = world.procs.spawn(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', process.execPath, hostScript, ...args],
    'helper host',
    { env: { ...env, PIN: config.pinPath, MAP_ID: String(mapId) } },
    (chunk) => output.reader.push(chunk),
  );
  const frame = await output.waitFor((h) => 'hello' in h, () => proc, 30_000);
  // A client greets the host first; the host serves nothing before.
  for (const chunk of encodeFrame(CLIENT_HELLO)) proc.child.stdin!.write(chunk);
  return { host: new Host(proc, output), hello: frame.header as Hello };
}

let host: Host;

/** A fixture_threads run as @prefix (a user and capabilities), once it said ready. */
async function fixture(prefix: readonly string[], args: readonly string[]): Promise<Proc> {
  const [cmd, ...rest] = [...prefix, fixtureBinary, ...args];
  const p = world.procs.spawn(cmd as string, rest, `fixture ${prefix.join(' ')} ${args.join(' ')}`);
  await p.waitForLine(/^ready \d+/);
  return p;
}

/** Every thread's data bytes of @pid as root reads them, to compare before and after. */
async function pages(pid: number): Promise<string> {
  const snap = await local.snapshot(pid);
  return JSON.stringify(snap.threads.map((t) => [t.tid, [...t.values.entries()].map(([k, v]) => [k, Buffer.from(v).toString('hex')])]));
}

/** A file's bytes in hex; a bpffs pin has none to read. */
function contents(file: string): string {
  try {
    return fs.readFileSync(file, 'hex');
  } catch {
    return '(pin)';
  }
}

/** A tree's names, inodes and file contents, to show nothing in it changed. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) out.push(`${p} -> ${fs.readlinkSync(p)}`);
      else if (e.isDirectory()) {
        out.push(`${p}/`);
        walk(p);
      } else out.push(`${p}: ${fs.statSync(p).ino} ${contents(p)}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** The processes of a list reply (THREAD records' tgids), each once. */
function listedPids(bytes: unknown): number[] {
  assert.ok(bytes instanceof Uint8Array, 'a list reply has bytes');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let off = 0; off + 8 <= buf.length; ) {
    const size = buf.readUInt32LE(off + 4);
    if (buf.readUInt32LE(off) === 2) out.push(buf.readUInt32LE(off + 8 + 4));
    off += 8 + size;
  }
  return [...new Set(out)];
}

before(async () => {
  local = await world.client();
  await local.processes(); // opens (and creates) the world's map
  mapId = (await local.hostReport()).pinMapId;
  assert.ok(mapId > 0, 'the world has its map');
  const built = await compile(path.join(repoRoot, 'test', 'integration', 'bpf', 'uptr_defined.bpf.c'), { output: path.join(shared, 'uptr_defined.bpf.o') });
  assert.ok(built.ok, JSON.stringify(built.diagnostics));
  object = built.object;
  fs.chmodSync(object, 0o644);
  ({ host } = await startHost());
});

after(async () => {
  await world.dispose();
  fs.rmSync(shared, { recursive: true, force: true });
  fs.rmSync(secret, { recursive: true, force: true });
});

test("the test user's own process with CAP_BPF + CAP_PERFMON is served: attach, list, snapshot, a write inside a key, detach", async () => {
  const mine = await fixture(asUser(user, ['bpf', 'perfmon']), ['--mode', 'plain', '--threads', '2']);
  await host.ok('attach', { pid: mine.pid, keys: [{ name: 'pol.a', size: 4 }, { name: 'pol.b', size: 8 }] });
  const listed = await host.ok('list');
  assert.deepEqual(listedPids(listed.bytes), [mine.pid], 'the list shows the user its own process only');
  const snap = parseSnapshot(mine.pid, (await host.ok('snapshot', { pid: mine.pid })).bytes as Uint8Array);
  assert.deepEqual(snap.keys.map((k) => [k.name, k.offset, k.size]), [['pol.a', 0, 4], ['pol.b', 8, 8]]);
  await host.ok('write', { pid: mine.pid, tid: 0, offset: 8, bytes: Buffer.from('0102030405060708', 'hex') });
  for (const t of (await local.snapshot(mine.pid)).threads.filter((x) => x.hasData)) {
    assert.equal(Buffer.from(t.values.get('pol.b') ?? []).toString('hex'), '0102030405060708');
  }
  // Inside a key but not all of it is fine too; one thread of the process is fine.
  await host.ok('write', { pid: mine.pid, tid: mine.pid, offset: 1, bytes: Buffer.from('ff', 'hex') });
  await host.ok('detach', { pid: mine.pid });
  await mine.kill();
});

test('writes past a key, across two keys or to a thread of another process are refused and change nothing', async () => {
  const mine = await fixture(asUser(user, ['bpf', 'perfmon']), ['--mode', 'plain', '--threads', '2']);
  await host.ok('attach', { pid: mine.pid, keys: [{ name: 'pol.a', size: 4 }, { name: 'pol.b', size: 2 }] });
  const before_ = await pages(mine.pid);
  const b = (hex: string) => Buffer.from(hex, 'hex');
  // pol.a is 0..4, padding 4..8, pol.b 8..10, nothing after.
  for (const [offset, bytes] of [[4, 'ff'], [2, 'ffffffff'], [9, 'ffff'], [16, 'ff'], [4000, 'ff'], [0, 'ffffffffffffffffffff']] as const) {
    await host.refused('write', { pid: mine.pid, tid: 0, offset, bytes: b(bytes) }, 'EINVAL', /not inside one key of process \d+ \(its keys: "pol\.a" at 0\.\.4, "pol\.b" at 8\.\.10\)/);
  }
  await host.refused('write', { pid: mine.pid, tid: host.proc.pid, offset: 0, bytes: b('ff') }, 'ESRCH', /has no thread/);
  assert.equal(await pages(mine.pid), before_);
  await host.ok('detach', { pid: mine.pid });
});

test("root's process, another user's and kthreadd are refused for every request, and nothing in them changes", async () => {
  const rootProc = await world.procs.fixture(['--mode', 'hints', '--threads', '2', '--keys', '3']);
  const nobody = await fixture(asUser({ ...user, uid: 65534, gid: 65534, name: 'nobody' }), ['--mode', 'plain', '--threads', '1']);
  // root gives nobody's process hints, which the test user must not see or touch either.
  await local.attach(nobody.pid, [{ name: 'other.a', size: 8 }]);
  for (const [pid, why] of [[rootProc.proc.pid, /runs as another user \(uids 0\/0\/0/], [nobody.pid, /runs as another user \(uids 65534\/65534\/65534/]] as const) {
    const before_ = await pages(pid);
    await host.refused('snapshot', { pid }, 'EPERM', new RegExp(`^process ${pid} ${why.source}.*you could debug yourself \\(ptrace\\)$`));
    await host.refused('write', { pid, tid: 0, offset: 0, bytes: Buffer.from([1]) }, 'EPERM', why);
    await host.refused('attach', { pid, keys: [{ name: 'x', size: 4 }] }, 'EPERM', why);
    await host.refused('detach', { pid }, 'EPERM', why);
    assert.equal(await pages(pid), before_);
  }
  const listed = await host.ok('list');
  assert.deepEqual(listedPids(listed.bytes), [], 'neither is listed');
  for (const method of ['snapshot', 'detach']) await host.refused(method, { pid: 2 }, 'EPERM', /process 2 is a kernel thread/);
  await host.refused('write', { pid: 2, tid: 0, offset: 0, bytes: Buffer.from([1]) }, 'EPERM', /kernel thread/);
  await host.refused('attach', { pid: 2, keys: [{ name: 'x', size: 4 }] }, 'EPERM', /kernel thread/);
  await local.detach(nobody.pid);
  assert.ok(!(await local.processes()).some((p) => p.pid === 2), 'kthreadd got no hints');
});

test("a scheduling trace is served for the user's own process only: root's process and kthreadd are refused", async () => {
  // Any process of the user's runs and is switched: tracing needs no hints.
  const [cmd, ...args] = [...asUser(user, []), 'sh', '-c', 'echo ready; exec yes > /dev/null'];
  const mine = world.procs.spawn(cmd as string, args, 'yes as the test user');
  await mine.waitForLine(/^ready/);
  const busy = mine.pid;
  await host.ok('traceStart', { pid: mine.pid });
  await host.refused('traceStart', { pid: mine.pid }, 'EIO', /a trace is running already/);
  await new Promise((r) => setTimeout(r, 500));
  const events = decodeTrace((await host.ok('traceRead')).bytes as Uint8Array);
  assert.ok(events.some((e) => e.tid === busy && e.kind === 'on-cpu'), `the busy thread ran: ${events.length} events`);
  const tids = new Set(taskIds(mine.pid));
  assert.deepEqual(events.filter((e) => !tids.has(e.tid)), [], 'only the threads of the process traced');
  await host.ok('traceStop');
  await host.refused('traceRead', {}, 'EBADF', /no trace is running/);
  const rootProc = await world.procs.fixture(['--mode', 'busy', '--keys', '2']);
  await host.refused('traceStart', { pid: rootProc.proc.pid }, 'EPERM', /runs as another user \(uids 0\/0\/0/);
  await host.refused('traceStart', { pid: 2 }, 'EPERM', /process 2 is a kernel thread/);
  await host.refused('traceRead', {}, 'EBADF', /no trace is running/);
  await rootProc.proc.kill();
  await mine.kill();
});

test('a snapshot or write bound to a checked process never reaches the process that took its pid since', async () => {
  const args = ['--mode', 'hints', '--threads', '1', '--keys', '2'];
  const a = await world.procs.fixture(args);
  const pid = a.proc.pid;
  const helper = new NativeHelper(world.pinPath);
  try {
    await helper.bindProcess(pid, BigInt(readCreds(pid).startTime));
    await a.proc.kill();
    // Start times count clock ticks (10 ms): only root forcing a pid (as here) reuses one within a tick.
    await new Promise((r) => setTimeout(r, 30));
    // Another process takes the pid: ns_last_pid names the next one (other forks on the machine may race it).
    let b: Proc | undefined;
    for (let i = 0; i < 50 && !b; i++) {
      fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
      const p = world.procs.spawn(fixtureBinary, args, 'fixture taking the pid');
      if (p.pid === pid) b = p;
      else await p.kill();
    }
    assert.ok(b, `no process took pid ${pid} again`);
    await b.waitForLine(/^ready \d+/);
    // Bound (for every caller in this process): the kernel side skips the newcomer's threads.
    const snap = parseSnapshot(pid, await helper.snapshot(pid));
    assert.deepEqual(snap.threads, []);
    await assert.rejects(helper.write(pid, 0, 0, Buffer.from([0xff])), (e: unknown) => e instanceof TldError && e.code === 'ENOENT');
    // Binding it again is refused: the pid names another process now.
    await assert.rejects(helper.bindProcess(pid, BigInt(readCreds(pid).startTime) + 1n), (e: unknown) => e instanceof TldError && e.code === 'ESRCH');
    // Unbound, the same calls reach it (so the skip above was the binding's doing).
    await helper.bindProcess(0, 0n);
    const values = valuesByTid(await local.snapshot(pid));
    assert.equal(values.size, 1);
    for (const [tid, v] of values) {
      assert.deepEqual(v, { [fixtureKeyName(0)]: fixtureValue(tid, 0, 1), [fixtureKeyName(1)]: fixtureValue(tid, 1, 2) }, 'the newcomer kept its values');
    }
  } finally {
    await helper.bindProcess(0, 0n);
    helper.dispose();
  }
});

test('pids and program ids that would wrap are refused, map pins are no programs, and only the loader unloads: nothing else is unloaded', async () => {
  const mine = await fixture(asUser(user, ['bpf', 'perfmon']), ['--mode', 'plain', '--threads', '1']);
  await host.refused('snapshot', { pid: 2 ** 32 + mine.pid }, 'EINVAL', /out of range/);
  await host.refused('attach', { pid: 2 ** 32 + mine.pid, keys: [{ name: 'x', size: 4 }] }, 'EINVAL', /out of range/);
  const loaded = await host.ok('objectLoad', { path: object, pinRoot: config.programPinRoot, attach: false });
  assert.equal(loaded.ok, true, JSON.stringify(loaded));
  const [progId] = loaded.progIds as number[];
  assert.ok(progId);
  const listed = (await host.ok('progList', { pinRoot: config.programPinRoot })).programs as { id: number; ours: boolean; pin: string }[];
  assert.deepEqual(listed.map((p) => [p.id, p.ours, p.pin]), [[progId, true, `${config.programPinRoot}/uptr_defined/on_switch`]], 'the user sees their own object only');
  const pins = tree(host.pinRoot);
  await host.refused('progUnload', { pinRoot: config.programPinRoot, progId: 2 ** 32 + progId }, 'EINVAL', /out of range/);
  assert.deepEqual(tree(host.pinRoot), pins);
  // A map pin whose map id is asked for is no program: it stays.
  fs.mkdirSync(path.join(host.pinRoot, 'maps'));
  execFileSync('bpftool', ['map', 'pin', 'id', String(mapId), path.join(host.pinRoot, 'maps', 'tld_data_map')]);
  const withMap = tree(host.pinRoot);
  await host.refused('progUnload', { pinRoot: config.programPinRoot, progId: mapId }, 'ENOENT', /was not loaded by TLD Studio/);
  assert.deepEqual(tree(host.pinRoot), withMap);
  // The object's folder is the user's; one of root's (or another user's) is not theirs to unload.
  const folder = path.join(host.pinRoot, 'uptr_defined');
  assert.equal(fs.statSync(folder).uid, user.uid);
  fs.chownSync(folder, 0, 0);
  const rootsPins = tree(host.pinRoot);
  const asRoots = (await host.ok('progList', { pinRoot: config.programPinRoot })).programs as { id: number }[];
  assert.equal(asRoots.find((p) => p.id === progId), undefined, 'an object of root is not listed to the user');
  await host.refused('progUnload', { pinRoot: config.programPinRoot, progId }, 'EPERM', /was loaded by user 0: only they or root may unload it/);
  assert.deepEqual(tree(host.pinRoot), rootsPins);
  fs.chownSync(folder, user.uid, user.gid);
  await host.ok('progUnload', { pinRoot: config.programPinRoot, progId });
  assert.ok(!fs.existsSync(folder), 'the object is unloaded');
  fs.rmSync(path.join(host.pinRoot, 'maps'), { recursive: true });
});

test('a pin root other than the configured one, with .. or outside bpffs, is refused and creates nothing', async () => {
  const outside = path.join(shared, 'escape');
  for (const pinRoot of [outside, `${config.programPinRoot}/../../../..${outside}`, '/sys/fs/bpf/elsewhere', `${config.programPinRoot}/`]) {
    await host.refused('objectLoad', { path: object, pinRoot, attach: false }, 'EPERM', /pinned under .* only/);
    await host.refused('progList', { pinRoot }, 'EPERM', /pinned under .* only/);
    await host.refused('progUnload', { pinRoot, progId: 1 }, 'EPERM', /pinned under .* only/);
  }
  assert.ok(!fs.existsSync(outside));
  assert.ok(!fs.existsSync(host.bpffs('elsewhere')));
  // Root in-process is not held to the configured root, but the helper library still is to bpffs.
  const r = await local.load(path.join(repoRoot, 'test', 'integration', 'bpf', 'uptr_defined.bpf.c'), false, {}, outside);
  assert.equal(r.load?.ok, false);
  assert.match(r.load?.error?.message ?? '', /is not on bpffs/);
  assert.ok(!fs.existsSync(outside), 'nothing was created outside bpffs');
  const dots = await local.load(path.join(repoRoot, 'test', 'integration', 'bpf', 'uptr_defined.bpf.c'), false, {}, `${world.pinDir}/../x`);
  assert.match(dots.load?.error?.message ?? '', /has a '\.\.' component/);
});

test('symlinks in the pin root are never followed: not to create, not to empty, not to unload', async () => {
  // A root-owned folder the symlink points at: it must keep its file.
  const victim = fs.mkdtempSync(path.join(shared, 'victim-'));
  fs.writeFileSync(path.join(victim, 'keep'), 'root data');
  const victimTree = tree(victim);
  fs.mkdirSync(host.pinRoot, { recursive: true });
  fs.symlinkSync(victim, path.join(host.pinRoot, 'uptr_defined'));
  await host.refused('objectLoad', { path: object, pinRoot: config.programPinRoot, attach: false }, 'EEXIST', /loaded already/);
  assert.deepEqual(tree(victim), victimTree);
  fs.unlinkSync(path.join(host.pinRoot, 'uptr_defined'));

  // An object loaded, then its folder moved out of the root and a symlink put in its place.
  const loaded = await host.ok('objectLoad', { path: object, pinRoot: config.programPinRoot, attach: false });
  const [progId] = loaded.progIds as number[];
  fs.renameSync(path.join(host.pinRoot, 'uptr_defined'), host.bpffs('moved'));
  fs.symlinkSync('/sys/fs/bpf/moved', path.join(host.pinRoot, 'uptr_defined'));
  const moved = tree(host.bpffs('moved'));
  await host.refused('progUnload', { pinRoot: config.programPinRoot, progId }, 'ENOENT', /was not loaded by TLD Studio/);
  const programs = (await host.ok('progList', { pinRoot: config.programPinRoot })).programs as { id: number; ours: boolean }[];
  assert.equal(programs.find((p) => p.id === progId), undefined, 'a program pinned through a symlink is not ours: the user does not see it');
  assert.deepEqual(tree(host.bpffs('moved')), moved);
  fs.unlinkSync(path.join(host.pinRoot, 'uptr_defined'));
  fs.rmSync(host.bpffs('moved'), { recursive: true });

  // The pin root itself a symlink: refused, and nothing is created where it points.
  fs.renameSync(host.pinRoot, host.bpffs('real-root'));
  fs.symlinkSync('/sys/fs/bpf/real-root', host.pinRoot);
  await host.refused('objectLoad', { path: object, pinRoot: config.programPinRoot, attach: false }, 'EIO', /has a symlink or a file at/);
  assert.deepEqual(fs.readdirSync(host.bpffs('real-root')), []);
  fs.unlinkSync(host.pinRoot);
  fs.renameSync(host.bpffs('real-root'), host.pinRoot);
  fs.rmSync(victim, { recursive: true });
});

test('a symlink swapped in and out of the pin root while objects load never redirects a pin or a clean-up', async () => {
  const victim = fs.mkdtempSync(path.join(shared, 'victim-'));
  fs.writeFileSync(path.join(victim, 'keep'), 'root data');
  const victimTree = tree(victim);
  fs.mkdirSync(host.pinRoot, { recursive: true });
  const link = path.join(host.pinRoot, 'uptr_defined');
  // Swaps a symlink to the victim in and out as fast as it can, as root (the strongest racer).
  const swapper = world.procs.spawn('sh', ['-c', 'while :; do ln -sfn "$1" "$2" 2>/dev/null; rm -f "$2"; done', 'sh', victim, link], 'symlink swapper');
  let loaded = 0;
  let refused = 0;
  try {
    for (let i = 0; i < 12; i++) {
      const r = await host.ok('objectLoad', { path: object, pinRoot: config.programPinRoot, attach: false });
      if (r.ok) {
        loaded++;
        await host.ok('progUnload', { pinRoot: config.programPinRoot, progId: (r.progIds as number[])[0] });
      } else {
        refused++;
        assert.match((r.error as { message: string }).message, /loaded already|loaded meanwhile|cannot pin/, JSON.stringify(r));
      }
      assert.deepEqual(tree(victim), victimTree, 'the folder the symlink points at is untouched');
    }
  } finally {
    await swapper.kill();
  }
  assert.equal(loaded + refused, 12);
  // An unload empties its folder and then removes it; the swapper, writing into that folder by
  // the same name meanwhile (ln -sfn into a directory puts its link inside), can leave it there
  // holding its own links and nothing else: those are the racer's, never a pin.
  if (fs.lstatSync(link, { throwIfNoEntry: false })?.isDirectory()) {
    for (const name of fs.readdirSync(link)) {
      const entry = path.join(link, name);
      assert.ok(fs.lstatSync(entry).isSymbolicLink() && fs.readlinkSync(entry) === victim, `${entry} is the swapper's link, not a pin`);
      fs.unlinkSync(entry);
    }
    fs.rmdirSync(link);
  }
  fs.rmSync(link, { force: true });
  assert.deepEqual(fs.readdirSync(host.pinRoot), [], 'nothing is left pinned');
  fs.rmSync(victim, { recursive: true });
});

test('objectCheck and objectLoad read files with the user\'s rights and say what the user would get', async () => {
  const hidden = path.join(secret, 'uptr_defined.bpf.o');
  fs.copyFileSync(object, hidden);
  const rootOnly = path.join(shared, 'root-only.bpf.o');
  fs.copyFileSync(object, rootOnly);
  fs.chmodSync(rootOnly, 0o600);
  const asTester = (file: string) => {
    const r = spawnSync('setpriv', [...asUser(user).slice(1), process.execPath, '-e', 'try { require("fs").readFileSync(process.argv[1]); console.log("ok") } catch (e) { console.log(e.code) }', file], { encoding: 'utf8' });
    return r.stdout.trim();
  };
  for (const [file, errno] of [[hidden, 'EACCES'], [path.join(secret, 'missing.o'), 'EACCES'], [rootOnly, 'EACCES'], [path.join(shared, 'missing.o'), 'ENOENT']] as const) {
    assert.equal(asTester(file), errno, `the user gets ${errno} for ${file}`);
    const code = errno === 'EACCES' ? 'EPERM' : 'ENOENT';
    const text = errno === 'EACCES' ? /Permission denied/ : /No such file or directory/;
    await host.refused('objectCheck', { path: file }, code, text);
    await host.refused('objectLoad', { path: file, pinRoot: config.programPinRoot, attach: false }, code, text);
  }
  assert.ok(!fs.existsSync(path.join(host.pinRoot, 'uptr_defined')), 'nothing was loaded');
  assert.ok(!fs.existsSync(path.join(host.pinRoot, 'root-only')));
  await host.refused('objectCheck', { path: 'relative.o' }, 'EINVAL', /not an absolute path/);
  await host.refused('objectCheck', { path: '/dev/zero' }, 'EINVAL', /not a regular file/);
  // What the user can read is checked as before, and named by the user's path.
  const findings = (await host.ok('objectCheck', { path: object })).findings as { code: string }[];
  assert.deepEqual(findings, []);
  const notElf = path.join(shared, 'not-elf.o');
  fs.writeFileSync(notElf, 'hello');
  fs.chmodSync(notElf, 0o644);
  await host.refused('objectCheck', { path: notElf }, 'EINVAL', new RegExp(`${notElf.replace(/[.]/g, '\\.')} is not a BPF object file`));
});

test("the user's objects load with CAP_BPF + CAP_PERFMON only: a network program (CAP_NET_ADMIN) is refused, as root's is not", async () => {
  const source = path.join(repoRoot, 'test', 'integration', 'bpf', 'xdp_pass.bpf.c');
  const built = await compile(source, { output: path.join(shared, 'xdp_pass.bpf.o') });
  assert.ok(built.ok, JSON.stringify(built.diagnostics));
  fs.chmodSync(built.object, 0o644);
  await host.refused('objectLoad', { path: built.object, pinRoot: config.programPinRoot, attach: false }, 'EPERM', /cannot load xdp_pass: Operation not permitted: objects load with CAP_BPF and CAP_PERFMON only here.*network programs CAP_NET_ADMIN/);
  assert.ok(!fs.existsSync(path.join(host.pinRoot, 'xdp_pass')), 'nothing stays pinned');
  // Root, in-process, may: the same object on the same kernel.
  const rootRoot = `${world.pinDir}/progs`;
  const asRoot = await local.load(source, false, {}, rootRoot);
  assert.equal(asRoot.load?.ok, true, JSON.stringify(asRoot.load?.error));
  await local.unload((asRoot.load?.progIds ?? [])[0] as number, rootRoot);
  // The host's thread has its capabilities back after the refused load: what CAP_BPF allows still loads.
  const ok = await host.ok('objectLoad', { path: object, pinRoot: config.programPinRoot, attach: false });
  assert.equal(ok.ok, true, JSON.stringify(ok));
  await host.ok('progUnload', { pinRoot: config.programPinRoot, progId: (ok.progIds as number[])[0] });
  const caps = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${host.proc.pid}/status`, 'utf8'))?.[1];
  assert.equal(caps, /^CapPrm:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${host.proc.pid}/status`, 'utf8'))?.[1], 'the host thread holds every capability again');
});

test('--lib, --pin or any option from a caller other than root is refused before anything is loaded, and so is a library others may write', async () => {
  const marker = path.join(shared, 'loaded-as-root');
  const lib = path.join(shared, 'evil.so');
  const src = path.join(shared, 'evil.c');
  fs.writeFileSync(src, `#include <stdio.h>\n__attribute__((constructor)) static void evil(void) { FILE *f = fopen("${marker}", "w"); if (f) fclose(f); }\nint tldh_abi_version(void) { return 3; }\n`);
  execFileSync('cc', ['-shared', '-fPIC', src, '-o', lib]);
  for (const args of [['--lib', lib], ['--pin', '/sys/fs/bpf/elsewhere/tld_data_map']]) {
    const { host: h, hello } = await startHost(args);
    assert.equal(hello.error?.code, 'EPERM', JSON.stringify(hello));
    assert.match(hello.error?.message ?? '', new RegExp(`takes no options from user ${user.uid}`));
    await h.proc.waitForExit(10_000);
  }
  assert.ok(!fs.existsSync(marker), 'the library was never loaded');
  // Nor the library beside the host when someone besides root could have changed it.
  const own = path.join(repoRoot, 'native', 'build', 'libtldhelper.so');
  const mode = fs.statSync(own).mode & 0o7777;
  fs.chmodSync(own, mode | 0o020);
  try {
    const { host: h, hello } = await startHost();
    assert.equal(hello.error?.code, 'EPERM', JSON.stringify(hello));
    assert.match(hello.error?.message ?? '', /libtldhelper\.so is not root's alone \(owner 0, mode 7[0-7]5\)/);
    await h.proc.waitForExit(10_000);
  } finally {
    fs.chmodSync(own, mode);
  }
  // Root may still choose its library (the in-process path's equal).
  const { host: rootHost, hello } = await startHost(['--lib', lib], { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' });
  assert.ok(fs.existsSync(marker), `root's --lib is honoured: ${JSON.stringify(hello)}`);
  await rootHost.proc.kill();
});
