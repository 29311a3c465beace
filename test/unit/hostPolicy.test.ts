// The helper host's policy on real /proc data: who the caller is (sudo's and pkexec's word,
// never an unprivileged environment's), and which real processes that caller may inspect by
// the ptrace rules: its own, and not root's, another user's, a kernel thread, a process that
// is not dumpable or holds capabilities beyond CAP_BPF + CAP_PERFMON. Needs root (to start
// processes as the test user).
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import {
  CALLER_CAPS,
  Caller,
  callerOf,
  checkPid,
  checkPinRoot,
  checkProcess,
  isThreadOf,
  readCreds,
  refusal,
  verifyProcess,
} from '../../extension/src/client/hostPolicy';
import { PID_MAX_LIMIT, parseHostRequest, requestIdOf } from '../../extension/src/client/protocol';
import { frameOf } from '../support/frames';
import { Cap, asUser, ensureTestUser } from '../support/user';

const user = ensureTestUser();
const caller: Caller = { uid: user.uid, gid: user.gid, via: 'sudo' };
const root: Caller = { uid: 0, gid: 0, via: 'self' };

const children = new Set<ChildProcess>();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-policy-'));
fs.chmodSync(tmp, 0o755);
after(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** `sleep` run with @prefix; resolves once it has exec'd (its /proc shows sleep). */
async function sleeper(prefix: readonly string[], binary = '/bin/sleep'): Promise<number> {
  const argv = [...prefix, binary, '1000'];
  const cmd = argv[0] as string;
  const c = spawn(cmd, argv.slice(1), { stdio: 'ignore' });
  children.add(c);
  const pid = c.pid;
  if (pid === undefined) throw new Error(`${cmd} did not start`);
  const base = path.basename(binary).slice(0, 15); // comm keeps 15 characters
  for (let i = 0; i < 500; i++) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === base) return pid;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${binary} did not start as pid ${pid}`);
}

const asTester = (caps: readonly Cap[] = []) => asUser(user, caps);

const isTldError = (code: string, message?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TldError, `not a TldError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (message) assert.match(e.message, message);
  return true;
};

test('the caller is SUDO_UID/SUDO_GID or PKEXEC_UID for a root host, and the real ids for any other', () => {
  const gidOf = (uid: number) => uid + 100;
  assert.deepEqual(callerOf({ SUDO_UID: '1000', SUDO_GID: '1001' }, 0, 0, gidOf), { uid: 1000, gid: 1001, via: 'sudo' });
  assert.deepEqual(callerOf({ SUDO_UID: '1000' }, 0, 0, gidOf), { uid: 1000, gid: 1100, via: 'sudo' });
  assert.deepEqual(callerOf({ PKEXEC_UID: '1000' }, 0, 0, gidOf), { uid: 1000, gid: 1100, via: 'pkexec' });
  // pkexec clears the environment it is given: its PKEXEC_UID wins over anything else.
  assert.deepEqual(callerOf({ PKEXEC_UID: '1000', SUDO_UID: '0' }, 0, 0, gidOf), { uid: 1000, gid: 1100, via: 'pkexec' });
  assert.deepEqual(callerOf({}, 0, 0, gidOf), { uid: 0, gid: 0, via: 'self' });
  // A host that is not root lends no privilege; an environment claiming root is nobody's word.
  assert.deepEqual(callerOf({ SUDO_UID: '0', PKEXEC_UID: '0' }, 1000, 1000, gidOf), { uid: 1000, gid: 1000, via: 'self' });
  for (const bad of ['-1', 'root', '1e3', '4294967296', ' 0']) {
    assert.throws(() => callerOf({ SUDO_UID: bad }, 0, 0, gidOf), isTldError('EINVAL', /SUDO_UID/));
  }
  // The primary group comes from the user database when pkexec gives none.
  assert.deepEqual(callerOf({ PKEXEC_UID: String(user.uid) }, 0, 0), { uid: user.uid, gid: user.gid, via: 'pkexec' });
});

test("the test user's own process is inspectable, with or without CAP_BPF + CAP_PERFMON", async () => {
  for (const caps of [[], ['bpf', 'perfmon']] as Cap[][]) {
    const pid = await sleeper(asTester(caps));
    const creds = readCreds(pid);
    assert.deepEqual(creds.uids, [user.uid, user.uid, user.uid, user.uid]);
    assert.equal(creds.procOwner, user.uid);
    assert.equal(creds.capPrm & ~CALLER_CAPS, 0n);
    assert.equal(caps.length > 0, creds.capPrm === CALLER_CAPS, `CapPrm 0x${creds.capPrm.toString(16)}`);
    assert.equal(refusal(caller, creds), undefined);
    const checked = checkProcess(caller, pid);
    verifyProcess(caller, checked);
  }
});

test("root's process, another user's and kthreadd are refused, naming why; root may inspect them", async () => {
  const rootPid = await sleeper([]);
  assert.throws(() => checkProcess(caller, rootPid), isTldError('EPERM', new RegExp(`process ${rootPid} runs as another user \\(uids 0/0/0, you are ${user.uid}\\).*ptrace`)));
  const other = { ...user, uid: 65534, gid: 65534 };
  const nobodyPid = await sleeper(asUser(other));
  assert.throws(() => checkProcess(caller, nobodyPid), isTldError('EPERM', /runs as another user \(uids 65534\/65534\/65534/));
  assert.equal(readCreds(2).kthread, true, 'pid 2 is kthreadd');
  assert.throws(() => checkProcess(caller, 2), isTldError('EPERM', /process 2 is a kernel thread/));
  for (const pid of [rootPid, nobodyPid, 2]) assert.equal(refusal(root, readCreds(pid)), undefined);
});

test('a process of the user with other capabilities, another group or not dumpable is refused', async () => {
  const admin = await sleeper(asTester(['bpf', 'perfmon', 'sys_admin']));
  assert.throws(() => checkProcess(caller, admin), isTldError('EPERM', /holds capabilities beyond CAP_BPF and CAP_PERFMON \(permitted 0x[0-9a-f]+, beyond: 0x200000\)/));

  const group = await sleeper(['setpriv', `--reuid=${user.uid}`, '--regid=65534', '--clear-groups', '--inh-caps=-all', '--']);
  assert.throws(() => checkProcess(caller, group), isTldError('EPERM', /runs with another group \(gids 65534\/65534\/65534/));

  // A root process that became the user without exec: the kernel made it not dumpable (its /proc is root's).
  const drop = `process.setgroups([${user.gid}]); process.setgid(${user.gid}); process.setuid(${user.uid}); console.log('dropped'); setInterval(() => {}, 1000);`;
  const dropped = spawn(process.execPath, ['-e', drop], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(dropped);
  await new Promise<void>((resolve) => dropped.stdout?.once('data', () => resolve()));
  const nondumpable = dropped.pid as number;
  const creds = readCreds(nondumpable);
  assert.deepEqual(creds.uids, [user.uid, user.uid, user.uid, user.uid]);
  assert.deepEqual(creds.gids, [user.gid, user.gid, user.gid, user.gid]);
  assert.equal(creds.procOwner, 0);
  assert.throws(() => checkProcess(caller, nondumpable), isTldError('EPERM', /is not dumpable/));

  // A setuid-root program run by the user: its effective and saved uid are root's.
  const setuid = path.join(tmp, 'sleep-setuid');
  fs.copyFileSync('/bin/sleep', setuid);
  fs.chmodSync(setuid, 0o4755);
  const suid = await sleeper(asTester(), setuid);
  const sc = readCreds(suid);
  assert.equal(sc.uids[0], user.uid);
  assert.equal(sc.uids[1], 0, 'the setuid bit took effect (tmp is not nosuid)');
  assert.throws(() => checkProcess(caller, suid), isTldError('EPERM', /runs as another user/));
});

test('pids are range-checked, a thread id is not a process, and a pid that names another process after the check is caught', async () => {
  for (const bad of [0, -1, 1.5, PID_MAX_LIMIT + 1, 2 ** 32 + process.pid, Number.MAX_SAFE_INTEGER + 2]) {
    assert.throws(() => checkPid(bad, 'process'), isTldError('EINVAL'));
    assert.throws(() => readCreds(bad), isTldError('EINVAL'));
  }
  assert.throws(() => readCreds(PID_MAX_LIMIT), isTldError('ESRCH'));
  // A node process has threads besides its leader: /proc/TID exists, but TID is no process.
  const tid = fs.readdirSync('/proc/self/task').map(Number).find((t) => t !== process.pid);
  assert.ok(tid, 'this process has a second thread');
  assert.throws(() => readCreds(tid), isTldError('ESRCH', new RegExp(`is a thread of process ${process.pid}`)));
  assert.equal(isThreadOf(process.pid, tid), true);
  assert.equal(isThreadOf(process.pid, 2), false);
  assert.equal(isThreadOf(process.pid, process.pid), true);

  const pid = await sleeper(asTester());
  const checked = checkProcess(caller, pid);
  assert.throws(() => verifyProcess(caller, { pid, startTime: String(Number(checked.startTime) + 1) }), isTldError('ESRCH', /now names another process/));
  const c = [...children].find((x) => x.pid === pid);
  c?.kill('SIGKILL');
  await new Promise((r) => c?.once('exit', r));
  assert.throws(() => verifyProcess(caller, checked), isTldError('ESRCH', /exited during the request/));
});

test('a caller other than root pins programs under the configured root only', () => {
  assert.equal(checkPinRoot(caller, '/sys/fs/bpf/tld-studio', '/sys/fs/bpf/tld-studio'), '/sys/fs/bpf/tld-studio');
  for (const bad of ['/sys/fs/bpf/tld-studio/../../../../tmp', '/tmp/x', '/sys/fs/bpf/tld-studio/', '/sys/fs/bpf/other']) {
    assert.throws(() => checkPinRoot(caller, bad, '/sys/fs/bpf/tld-studio'), isTldError('EPERM', /pinned under \/sys\/fs\/bpf\/tld-studio only/));
  }
  assert.equal(checkPinRoot(root, '/sys/fs/bpf/other', '/sys/fs/bpf/tld-studio'), '/sys/fs/bpf/other');
});

test('host requests with ids or pids that would wrap, offsets past the largest page (64 KiB; the helper holds writes to the map\'s own) or bad keys are refused', () => {
  const ok = (line: string, payload?: Uint8Array) => assert.notEqual(parseHostRequest(frameOf(line, payload)), null, line);
  const no = (line: string, payload?: Uint8Array) => assert.equal(parseHostRequest(frameOf(line, payload)), null, line);
  const one = Buffer.from([1]);
  ok(`{"id":1,"method":"snapshot","pid":${PID_MAX_LIMIT}}`);
  no(`{"id":1,"method":"snapshot","pid":${PID_MAX_LIMIT + 1}}`);
  no(`{"id":1,"method":"snapshot","pid":${2 ** 32 + 5}}`);
  no(`{"id":1,"method":"detach","pid":${2 ** 32 + 5}}`);
  no(`{"id":1,"method":"attach","pid":${2 ** 32 + 5},"keys":[{"name":"a","size":4}]}`);
  ok('{"id":1,"method":"progUnload","pinRoot":"/sys/fs/bpf/tld-studio","progId":4294967295}');
  no('{"id":1,"method":"progUnload","pinRoot":"/sys/fs/bpf/tld-studio","progId":4294971026}');
  no('{"id":1,"method":"progUnload","pinRoot":"/sys/fs/bpf/tld-studio","progId":0}');
  ok('{"id":1,"method":"write","pid":5,"tid":0,"offset":65527,"payload":1}', one);
  no('{"id":1,"method":"write","pid":5,"tid":0,"offset":65528,"payload":1}', one);
  no('{"id":1,"method":"write","pid":5,"tid":-1,"offset":0,"payload":1}', one);
  no(`{"id":1,"method":"write","pid":5,"tid":${2 ** 32 + 6},"offset":0,"payload":1}`, one);
  no('{"id":1,"method":"write","pid":5,"tid":0,"offset":0,"bytes":"AQ=="}');
  no('{"id":1,"method":"attach","pid":5,"keys":[]}');
  no('{"id":1,"method":"attach","pid":5,"keys":[{"name":"a:b","size":4}]}');
  no('{"id":1,"method":"attach","pid":5,"keys":[{"name":"a","size":0}]}');
  no('{"id":1,"method":"attach","pid":5,"keys":[{"name":"a","size":65529}]}');
  no(`{"id":1,"method":"attach","pid":5,"keys":[{"name":"${'n'.repeat(62)}","size":4}]}`);
  no('{"id":1,"method":"objectCheck","path":"/tmp/a\\u0000b"}');
  no('{"id":1,"method":"objectCheck","path":""}');
  // A refused request with an id is answered (with an error), so its client is not left waiting.
  assert.equal(requestIdOf(frameOf(`{"id":7,"method":"snapshot","pid":${2 ** 32 + 5}}`)), 7);
  assert.equal(requestIdOf(frameOf('{"id":-1,"method":"list"}')), undefined);
  assert.equal(requestIdOf(frameOf('not json')), undefined);
});
