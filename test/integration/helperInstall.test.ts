// tldctl helper install as root, then an ordinary user (no capabilities) reads and changes the
// hints of their own tld-demo (run with CAP_BPF + CAP_PERFMON) through real sudo and the
// installed host; uninstall leaves the machine as it was. Also: libtld with only CAP_BPF +
// CAP_PERFMON, and the Electron launch through real sudo.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { HOST_COMMAND, HOST_CONFIG_PATH, INSTALL_DIR } from '../../extension/src/client/hostConfig';
import { planHostLaunch } from '../../extension/src/client/hostHelper';
import { HELPER_GROUP, POLKIT_POLICY_PATH, POLKIT_RULES_PATH, SUDOERS_PATH } from '../../extension/src/client/helperInstall';
import { ProcessSet, RunResult, demoBinary, run, runTldctl, stackLines, tldctlScript, until } from '../support/processes';
import { TestUser, asUser, ensureTestUser, userEnv } from '../support/user';

const procs = new ProcessSet(process.env);
const pinDir = `/sys/fs/bpf/tld-it-install-${process.pid}`;
const pinPath = `${pinDir}/tld_data_map`;
const wrongDir = `/sys/fs/bpf/tld-it-install-wrong-${process.pid}`;
let user: TestUser;

/** Everything install may touch, as text, to compare before install and after uninstall. */
function machineState(): Record<string, string> {
  const exists = (p: string) => (fs.existsSync(p) ? `exists, ${fs.statSync(p).mode.toString(8)}` : 'absent');
  const getent = (db: string, key: string) => {
    try {
      return execFileSync('getent', [db, key], { encoding: 'utf8' }).trim();
    } catch {
      return 'absent';
    }
  };
  return {
    installDir: exists(INSTALL_DIR),
    config: exists(HOST_CONFIG_PATH),
    configDir: exists(path.dirname(HOST_CONFIG_PATH)),
    sudoers: exists(SUDOERS_PATH),
    polkitPolicy: exists(POLKIT_POLICY_PATH),
    polkitRules: exists(POLKIT_RULES_PATH),
    pinDir: exists(pinDir),
    bpffs: exists('/sys/fs/bpf'),
    group: getent('group', HELPER_GROUP),
    userGroups: execFileSync('id', ['-Gn', user.name], { encoding: 'utf8' }).trim(),
  };
}

function stat(p: string): { owner: string; mode: string } {
  const st = fs.statSync(p);
  const group = execFileSync('getent', ['group', String(st.gid)], { encoding: 'utf8' }).split(':')[0];
  return { owner: `${st.uid}:${group}`, mode: (st.mode & 0o7777).toString(8) };
}

/** tldctl as the test user, without any capability, on the installed host's pin. */
function tldctlAsUser(args: readonly string[], pinDirEnv = pinDir): Promise<RunResult> {
  return run(procs, asUser(user)[0] as string, [...asUser(user).slice(1), process.execPath, tldctlScript, ...args], {
    env: userEnv(user, process.env, { TLD_PIN_DIR: pinDirEnv }),
    timeoutMs: 30_000,
  });
}

let before_: Record<string, string>;

before(() => {
  user = ensureTestUser();
  assert.ok(!fs.existsSync(INSTALL_DIR), `a helper host is installed on this machine (${INSTALL_DIR}); this test installs and removes its own: run tldctl helper uninstall first`);
  before_ = machineState();
});

after(async () => {
  await procs.killAll();
  // Whatever happened, leave no install behind.
  if (fs.existsSync(INSTALL_DIR) || fs.existsSync(SUDOERS_PATH)) await runTldctl(procs, ['helper', 'uninstall'], { timeoutMs: 60_000 });
  fs.rmSync(pinDir, { recursive: true, force: true });
  fs.rmSync(wrongDir, { recursive: true, force: true });
});

test('helper install refuses an ordinary caller, root as the user, and an unknown user, each in one line', async () => {
  const asOrdinary = await tldctlAsUser(['helper', 'install', '--user', user.name]);
  assert.equal(asOrdinary.code, 1);
  assert.match(asOrdinary.stderr, /^tldctl: tldctl helper install changes system files and must run as root: sudo tldctl helper install --user tld-tester\n$/);
  const root = await runTldctl(procs, ['helper', 'install', '--user', 'root']);
  assert.equal(root.code, 1);
  assert.match(root.stderr, /root needs no helper host/);
  const unknown = await runTldctl(procs, ['helper', 'install', '--user', 'no-such-user-tld']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /there is no user 'no-such-user-tld'/);
  const noUser = await runTldctl(procs, ['helper', 'install']);
  assert.equal(noUser.code, 2);
  assert.ok(!fs.existsSync(INSTALL_DIR), 'nothing was installed');
});

test('helper install lets an ordinary user list, snapshot and set their tld-demo through sudo and the installed host; uninstall removes it all', async () => {
  const inst = await runTldctl(procs, ['helper', 'install', '--user', user.name, '--pin-dir', pinDir], { timeoutMs: 120_000 });
  assert.equal(inst.code, 0, inst.stdout + inst.stderr);
  // Again: every step is idempotent.
  const again = await runTldctl(procs, ['helper', 'install', '--user', user.name, '--pin-dir', pinDir], { timeoutMs: 120_000 });
  assert.equal(again.code, 0, again.stdout + again.stderr);

  // The layout: root-owned, nothing writable by the user, the pin shared through the group.
  assert.deepEqual(stat(INSTALL_DIR), { owner: '0:root', mode: '755' });
  assert.deepEqual(stat(HOST_COMMAND), { owner: '0:root', mode: '755' });
  for (const f of ['node', 'helperHost.js', 'libtldhelper.so']) assert.equal(stat(path.join(INSTALL_DIR, f)).owner, '0:root', f);
  assert.equal(stat(path.join(INSTALL_DIR, 'node')).mode, '755');
  assert.deepEqual(stat(HOST_CONFIG_PATH), { owner: '0:root', mode: '644' });
  assert.deepEqual(JSON.parse(fs.readFileSync(HOST_CONFIG_PATH, 'utf8')), { pinPath, programPinRoot: '/sys/fs/bpf/tld-studio' });
  assert.deepEqual(stat(SUDOERS_PATH), { owner: '0:root', mode: '440' });
  assert.match(fs.readFileSync(SUDOERS_PATH, 'utf8'), new RegExp(`^${user.name} ALL=\\(root\\) NOPASSWD: ${HOST_COMMAND} ""$`, 'm'));
  execFileSync('visudo', ['-c'], { stdio: 'ignore' });
  assert.match(fs.readFileSync(POLKIT_POLICY_PATH, 'utf8'), new RegExp(`"org.freedesktop.policykit.exec.path">${HOST_COMMAND}<`));
  assert.deepEqual(stat(pinDir), { owner: `0:${HELPER_GROUP}`, mode: '3770' });
  assert.deepEqual(stat(pinPath), { owner: `0:${HELPER_GROUP}`, mode: '660' });
  assert.match(execFileSync('id', ['-Gn', user.name], { encoding: 'utf8' }), new RegExp(`\\b${HELPER_GROUP}\\b`));

  // Doctor, as the user: the installed host stands in for the capabilities the user lacks.
  const doc = await tldctlAsUser(['doctor']);
  assert.match(doc.stdout, /^✓ privileges: this process lacks CAP_BPF and CAP_PERFMON; the installed helper host holds them for it$/m);
  assert.match(doc.stdout, new RegExp(`^✓ helper host: ${HOST_COMMAND}, serving ${pinPath}$`, 'm'));
  assert.match(doc.stdout, /^✓ shared pin group: this session is in the group tld/m);

  // The rule is for the command alone: sudo refuses it with arguments, and so does the command.
  const withArgs = await run(procs, asUser(user)[0] as string, [...asUser(user).slice(1), 'sudo', '-n', HOST_COMMAND, '--pin', '/etc'], {
    env: userEnv(user, process.env),
  });
  assert.notEqual(withArgs.code, 0);
  assert.match(withArgs.stderr, /sudo: /);
  const direct = await run(procs, HOST_COMMAND, ['--lib', '/tmp/x.so']);
  assert.equal(direct.code, 2);
  assert.match(direct.stderr, /takes no arguments/);

  // bpffs is empty after a boot: the host's next start makes the folder and the pin again.
  fs.rmSync(pinDir, { recursive: true });
  const first = await tldctlAsUser(['ps']);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.deepEqual(stat(pinDir), { owner: `0:${HELPER_GROUP}`, mode: '3770' });
  assert.deepEqual(stat(pinPath), { owner: `0:${HELPER_GROUP}`, mode: '660' });

  // The user's own tld-demo, with CAP_BPF + CAP_PERFMON, publishes on the shared pin.
  const demo = procs.spawn(asUser(user)[0] as string, [...asUser(user, ['bpf', 'perfmon']).slice(1), demoBinary, '--threads', '2', '--report', '200'], 'tld-demo as the user', {
    env: userEnv(user, process.env, { TLD_PIN_DIR: pinDir }),
  });
  await demo.waitForLine(/^\{"pid":\d+/, 15_000);
  const pid = demo.pid; // setpriv execs tld-demo: same pid
  assert.doesNotMatch(demo.stderr, /libtld|cannot/, 'tld-demo opened the root-made pin without complaint');

  // tld-demo publishes its keys over its first moments (the plugin's last): list until all six are there.
  let ps: RunResult | undefined;
  for (let i = 0; i < 20; i++) {
    ps = await tldctlAsUser(['ps', '--json']);
    assert.equal(ps.code, 0, ps.stdout + ps.stderr);
    const listed = JSON.parse(ps.stdout) as { pid: number; comm: string; keys: number }[];
    if (listed.some((p) => p.pid === pid && p.comm === 'tld-demo' && p.keys === 6)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const listed = JSON.parse(ps?.stdout ?? '[]') as { pid: number; comm: string; keys: number }[];
  assert.ok(listed.some((p) => p.pid === pid && p.comm === 'tld-demo' && p.keys === 6), ps?.stdout);

  const snap = await tldctlAsUser(['snapshot', String(pid), '--json']);
  assert.equal(snap.code, 0, snap.stdout + snap.stderr);
  const s = JSON.parse(snap.stdout) as { pid: number; keys: { name: string }[]; threads: { values: Record<string, unknown> }[] };
  assert.equal(s.pid, pid);
  assert.ok(s.keys.some((k) => k.name === 'sched.latency_critical'), snap.stdout);
  assert.ok(s.threads.some((t) => t.values['sched.latency_critical'] === 0), 'one thread is not latency critical yet');

  // tld-demo writes sched.latency_critical once: a set stays, and the demo's own report shows it.
  const set = await tldctlAsUser(['set', String(pid), 'sched.latency_critical', '1']);
  assert.equal(set.code, 0, set.stdout + set.stderr);
  assert.match(set.stdout, /in 2 thread\(s\)/);
  const seen = await demo.waitForLine(/"sched\.latency_critical":1,.*"sched\.latency_critical":1,/, 10_000);
  assert.ok(!/"sched\.latency_critical":0/.test(seen), seen);

  // A root process on the same pin is not the user's: not listed, and refused by name of the reason.
  const rootDemo = procs.spawn(demoBinary, ['--threads', '1', '--report', '200'], 'tld-demo as root', { env: { ...process.env, TLD_PIN_DIR: pinDir } });
  await rootDemo.waitForLine(/^\{"pid":\d+/, 15_000);
  const psRoot = await tldctlAsUser(['ps', '--json']);
  assert.equal(psRoot.code, 0, psRoot.stdout + psRoot.stderr);
  assert.ok(!(JSON.parse(psRoot.stdout) as { pid: number }[]).some((p) => p.pid === rootDemo.pid), `root's tld-demo is listed to the user: ${psRoot.stdout}`);
  const snapRoot = await tldctlAsUser(['snapshot', String(rootDemo.pid)]);
  assert.equal(snapRoot.code, 1, snapRoot.stdout + snapRoot.stderr);
  assert.match(snapRoot.stderr, new RegExp(`^tldctl: process ${rootDemo.pid} runs as another user .*ptrace`));
  const setRoot = await tldctlAsUser(['set', String(rootDemo.pid), 'sched.latency_critical', '1']);
  assert.equal(setRoot.code, 1, setRoot.stdout + setRoot.stderr);
  await rootDemo.kill();

  // Another pin than the configured one: said plainly, in one line.
  const other = await tldctlAsUser(['ps'], '/sys/fs/bpf/tld-it-elsewhere');
  assert.equal(other.code, 1);
  assert.match(other.stderr, /^tldctl: the installed helper host serves only the pin configured in \/etc\/tld-studio\/helper\.json/);
  assert.deepEqual(stackLines(other.stderr), []);

  await demo.kill();
  const un = await runTldctl(procs, ['helper', 'uninstall'], { timeoutMs: 60_000 });
  assert.equal(un.code, 0, un.stdout + un.stderr);
  assert.deepEqual(machineState(), before_, 'uninstall left the machine as it was before install');

  // Without the host, the user is told the one command, by tldctl and by doctor.
  const none = await tldctlAsUser(['ps']);
  assert.equal(none.code, 1, none.stdout + none.stderr);
  assert.match(none.stderr, new RegExp(`sudo tldctl helper install --user ${user.name}`));
  const noneDoc = await tldctlAsUser(['doctor']);
  assert.match(noneDoc.stdout, new RegExp(`^✗ helper host: not installed at ${HOST_COMMAND}\n {4}fix: sudo tldctl helper install --user ${user.name}$`, 'm'));
});

test('libtld with only CAP_BPF + CAP_PERFMON opens a map another user pinned, and refuses a map of another shape saying why', async () => {
  fs.mkdirSync(wrongDir);
  fs.chmodSync(wrongDir, 0o1777);
  // A map root made: libtld cannot read its BTF back without CAP_SYS_ADMIN, and takes it.
  const first = procs.spawn(demoBinary, ['--threads', '1', '--seconds', '30'], 'tld-demo as root', { env: { ...process.env, TLD_PIN_DIR: wrongDir } });
  assert.ok(await until(() => /^tld-demo: pid/.test(first.stderr), 15_000), first.describe());
  fs.chmodSync(path.join(wrongDir, 'tld_data_map'), 0o666);
  const mine = await run(procs, asUser(user)[0] as string, [...asUser(user, ['bpf', 'perfmon']).slice(1), demoBinary, '--threads', '1', '--seconds', '1'], {
    env: userEnv(user, process.env, { TLD_PIN_DIR: wrongDir }),
    timeoutMs: 15_000,
  });
  assert.equal(mine.code, 0, mine.stdout + mine.stderr);
  assert.doesNotMatch(mine.stderr, /libtld|cannot/);
  await first.kill();

  // A hash map under the shared name: refused with the reason on the same line.
  fs.rmSync(path.join(wrongDir, 'tld_data_map'));
  execFileSync('bpftool', ['map', 'create', path.join(wrongDir, 'tld_data_map'), 'type', 'hash', 'key', '4', 'value', '16', 'entries', '8', 'name', 'tld_data_map']);
  fs.chmodSync(path.join(wrongDir, 'tld_data_map'), 0o666);
  const wrong = await run(procs, asUser(user)[0] as string, [...asUser(user, ['bpf', 'perfmon']).slice(1), demoBinary, '--threads', '1', '--seconds', '1'], {
    env: userEnv(user, process.env, { TLD_PIN_DIR: wrongDir }),
    timeoutMs: 15_000,
  });
  assert.match(wrong.stderr, new RegExp(`^libtld: refusing the map pinned at ${wrongDir}/tld_data_map: map 'tld_data_map' has type 1, key size 4, value size 16`, 'm'));
});

test('under Electron, the host started through real sudo runs with ELECTRON_RUN_AS_NODE=1, which sudo alone drops', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-electron-'));
  try {
    const script = path.join(dir, 'host.js');
    fs.writeFileSync(script, 'process.stdout.write(String(process.env.ELECTRON_RUN_AS_NODE));\n');
    const env = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
    const dropped = await run(procs, 'sudo', ['-n', process.execPath, script], { env });
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.equal(dropped.stdout, 'undefined', 'sudo drops the variable');
    const plan = planHostLaunch('/sys/fs/bpf/tld/tld_data_map', ['sudo', '-n'], {
      execPath: process.execPath,
      versions: { ...process.versions, electron: '37.0.0' },
      env,
      installed: false,
      hostScript: script,
    });
    const [cmd, ...args] = plan.argv;
    const r = await run(procs, cmd, args, { env: plan.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '1');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
