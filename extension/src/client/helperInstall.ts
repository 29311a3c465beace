// Installs and removes the root-owned helper host (tldctl helper install/uninstall), and sets
// up the shared pin folder for its users' programs, again whenever the installed host starts.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

import { TldError } from './errors';
import { DEFAULT_HOST_CONFIG, HOST_COMMAND, HOST_CONFIG_PATH, HostConfig, INSTALL_DIR, parseHostConfig } from './hostConfig';
import { MAP_NAME } from './layout';
import { helperLibraryPath, studioRoot } from './paths';

/** The system group whose members' programs (with CAP_BPF + CAP_PERFMON) publish on the shared pin. */
export const HELPER_GROUP = 'tld';
export const SUDOERS_PATH = '/etc/sudoers.d/tld-studio';
export const POLKIT_ACTION_ID = 'org.tld-studio.helper-host';
export const POLKIT_POLICY_PATH = `/usr/share/polkit-1/actions/${POLKIT_ACTION_ID}.policy`;
export const POLKIT_RULES_PATH = '/etc/polkit-1/rules.d/50-tld-studio.rules';
/** What install changed that was there before it, so that uninstall undoes exactly that. */
export const MANIFEST_PATH = `${INSTALL_DIR}/install.json`;
const HOST_JS = `${INSTALL_DIR}/helperHost.js`;
const HOST_NODE = `${INSTALL_DIR}/node`;
const HOST_LIB = `${INSTALL_DIR}/libtldhelper.so`;
const CONFIG_DIR = path.dirname(HOST_CONFIG_PATH);
const BPFFS_ROOT = '/sys/fs/bpf';
const BPF_FS_MAGIC = 0xcafe4a11;
/** Folder: setgid (pins made inside get the group), sticky (members cannot remove root's pin). */
const PIN_DIR_MODE = 0o3770;
const PIN_MODE = 0o660;
const O_PATH = 0o10000000;

interface Ownership {
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

export interface InstallManifest {
  /** The users the sudoers and polkit rules name. */
  readonly users: string[];
  readonly group: string;
  readonly gid: number;
  readonly groupCreated: boolean;
  /** Users install added to the group (not those that were members before). */
  readonly addedToGroup: string[];
  /** Whether install gave others search permission on /sys/fs/bpf (needed to reach the pin). */
  readonly bpffsSearchAdded: boolean;
  readonly configDirCreated: boolean;
  readonly pinDir: string;
  /** How the pin folder and the pin were before install, or undefined when install made them. */
  readonly pinDirBefore?: Ownership;
  readonly pinBefore?: Ownership;
}

export interface InstallOptions {
  readonly user: string;
  readonly pinDir?: string;
  readonly programPinRoot?: string;
  /** Where the built host, library and koffi come from (the repository by default). */
  readonly sourceRoot?: string;
}

/** One line per step done, for the command to print. */
export type Report = (line: string) => void;

const fail = (message: string): never => {
  throw new TldError('EINVAL', message);
};

function requireRoot(usage: string): void {
  if (process.geteuid?.() !== 0) throw new TldError('EPERM', `tldctl ${usage.split(' ').slice(0, 2).join(' ')} changes system files and must run as root: sudo tldctl ${usage}`);
}

function run(cmd: string, args: readonly string[], what: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    const why = err.code === 'ENOENT' ? `${cmd} is not installed` : (err.stderr ?? '').trim() || err.message;
    throw new TldError('EIO', `cannot ${what}: ${why}`);
  }
}

interface Passwd {
  readonly name: string;
  readonly uid: number;
}

function getentUser(name: string): Passwd | undefined {
  try {
    const [, , uid] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { name, uid: Number(uid) };
  } catch {
    return undefined;
  }
}

function getentGroup(name: string): { gid: number; members: string[] } | undefined {
  try {
    const [, , gid, members] = execFileSync('getent', ['group', name], { encoding: 'utf8' }).trim().split(':');
    return { gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) };
  } catch {
    return undefined;
  }
}

export function readManifest(file = MANIFEST_PATH): InstallManifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as InstallManifest;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TldError('EIO', `cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Writes @text to @file (root-owned, @mode) through a temporary file renamed over it. */
function writeAtomic(file: string, text: string | Buffer, mode: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, text, { mode });
  fs.chownSync(tmp, 0, 0);
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

function copyAtomic(src: string, dst: string, mode: number): void {
  const tmp = path.join(path.dirname(dst), `.${path.basename(dst)}.tmp`);
  fs.rmSync(tmp, { force: true });
  fs.copyFileSync(src, tmp);
  fs.chownSync(tmp, 0, 0);
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, dst);
}

/** Makes a copied tree root-owned and not writable by others: folders 0755, files 0644. */
function sealTree(dir: string): void {
  fs.chownSync(dir, 0, 0);
  fs.chmodSync(dir, 0o755);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sealTree(p);
    else if (e.isSymbolicLink()) fs.rmSync(p);
    else {
      fs.chownSync(p, 0, 0);
      fs.chmodSync(p, 0o644);
    }
  }
}

/** The koffi package and its prebuilt binary for this platform, as folders to copy. */
export function koffiPackages(): { name: string; dir: string }[] {
  let main: string;
  try {
    // Its package.json is not exported: walk up from its entry to the package's folder. Resolved
    // from TLD Studio's root through createRequire: in a webpack bundle (the extension,
    // dist/tldctl.js) require.resolve of an external gives a module id, not a path.
    main = path.dirname(createRequire(path.join(studioRoot(), 'package.json')).resolve('koffi'));
    while (path.basename(main) !== 'koffi' && path.dirname(main) !== main) main = path.dirname(main);
  } catch {
    return fail('the koffi package is missing: run npm install');
  }
  const scope = path.join(path.dirname(main), '@koromix');
  const binaries = fs.existsSync(scope)
    ? fs.readdirSync(scope).filter((n) => n.startsWith(`koffi-${process.platform}-${process.arch}`))
    : [];
  return [{ name: 'koffi', dir: main }, ...binaries.map((n) => ({ name: `@koromix/${n}`, dir: path.join(scope, n) }))];
}

/** The executable sudoers and polkit allow: no arguments, a clean environment, fixed paths. */
export function hostCommandScript(): string {
  return `#!/bin/sh
# The TLD Studio helper host, installed by \`tldctl helper install\`. It takes no arguments;
# sudo or pkexec say who called (SUDO_UID or PKEXEC_UID) and nothing else of the caller passes.
if [ "$#" -ne 0 ]; then
	echo "tld-helper-host: takes no arguments" >&2
	exit 2
fi
exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \\
	\${SUDO_UID:+SUDO_UID="$SUDO_UID"} \${SUDO_GID:+SUDO_GID="$SUDO_GID"} \${PKEXEC_UID:+PKEXEC_UID="$PKEXEC_UID"} \\
	${HOST_NODE} ${HOST_JS}
`;
}

/** A user name sudoers and polkit rules can name without quoting. */
function checkUserName(name: string): void {
  if (!/^[a-z_][a-z0-9_.-]*$/i.test(name)) fail(`'${name}' is not a user name TLD Studio can put in a sudoers rule`);
}

export function sudoersText(users: readonly string[]): string {
  return [
    '# TLD Studio (tldctl helper install): these users may start the installed helper host,',
    '# with no arguments ("") and no password. Remove with tldctl helper uninstall.',
    ...users.map((u) => `${u} ALL=(root) NOPASSWD: ${HOST_COMMAND} ""`),
    '',
  ].join('\n');
}

export function polkitPolicyText(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD PolicyKit Policy Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/PolicyKit/1/policyconfig.dtd">
<!-- TLD Studio (tldctl helper install): pkexec ${HOST_COMMAND}. -->
<policyconfig>
  <vendor>TLD Studio</vendor>
  <action id="${POLKIT_ACTION_ID}">
    <description>Run the TLD Studio helper host</description>
    <message>TLD Studio reads and writes the BPF task local data hints of your processes</message>
    <defaults>
      <allow_any>auth_admin</allow_any>
      <allow_inactive>auth_admin</allow_inactive>
      <allow_active>auth_admin_keep</allow_active>
    </defaults>
    <annotate key="org.freedesktop.policykit.exec.path">${HOST_COMMAND}</annotate>
  </action>
</policyconfig>
`;
}

/** The users sudoers names get the same from pkexec in their active local session. */
export function polkitRulesText(users: readonly string[]): string {
  return `// TLD Studio (tldctl helper install): the users of the sudoers rule, without a password.
polkit.addRule(function (action, subject) {
  if (action.id == "${POLKIT_ACTION_ID}" && subject.local && subject.active &&
      ${JSON.stringify(users)}.indexOf(subject.user) >= 0) {
    return polkit.Result.YES;
  }
});
`;
}

function installSudoers(users: readonly string[]): void {
  if (!fs.existsSync('/etc/sudoers.d')) fail('sudo is not installed (no /etc/sudoers.d): apt-get install sudo');
  // A name with a dot is ignored by sudo's includedir: a safe place to check the rule first.
  const tmp = '/etc/sudoers.d/.tld-studio.check';
  fs.writeFileSync(tmp, sudoersText(users), { mode: 0o440 });
  try {
    fs.chownSync(tmp, 0, 0);
    fs.chmodSync(tmp, 0o440);
    run('visudo', ['-cf', tmp], 'check the sudoers rule with visudo');
    fs.renameSync(tmp, SUDOERS_PATH);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

// ---- the shared pin folder, handled without following links (a member could plant one) ----

const fdPath = (fd: number, name?: string) => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

/** An O_PATH fd of @name inside @dirFd (or an absolute path), never following a last symlink; undefined when absent. */
function openNoFollow(dirFd: number | undefined, name: string): number | undefined {
  try {
    return fs.openSync(dirFd === undefined ? name : fdPath(dirFd, name), O_PATH | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function ownership(fd: number): Ownership {
  const st = fs.fstatSync(fd);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}

function setOwnership(fd: number, o: Ownership): void {
  fs.chownSync(fdPath(fd), o.uid, o.gid);
  fs.chmodSync(fdPath(fd), o.mode);
}

/**
 * Opens the folders from /sys/fs/bpf down to @dir (making missing ones, root-owned 0755),
 * refusing links, folders outside bpffs and folders above @dir that root does not own.
 * Returns the fd of @dir and whether it was made now.
 */
function openPinDir(dir: string): { fd: number; created: boolean } {
  if (!dir.startsWith(`${BPFFS_ROOT}/`) || dir.split('/').includes('..')) fail(`the pin folder must be under ${BPFFS_ROOT}, not ${dir}`);
  const parts = dir.slice(BPFFS_ROOT.length + 1).split('/').filter(Boolean);
  let fd = fs.openSync(BPFFS_ROOT, O_PATH | fs.constants.O_DIRECTORY);
  let created = false;
  try {
    if (fs.statfsSync(fdPath(fd)).type !== BPF_FS_MAGIC) fail(`${BPFFS_ROOT} is not bpffs: mount -t bpf bpf ${BPFFS_ROOT}`);
    for (const [i, name] of parts.entries()) {
      const here = `${BPFFS_ROOT}/${parts.slice(0, i + 1).join('/')}`;
      let next = openNoFollow(fd, name);
      if (next === undefined) {
        fs.mkdirSync(fdPath(fd, name), 0o755);
        next = openNoFollow(fd, name) as number;
        created = i === parts.length - 1;
      }
      fs.closeSync(fd);
      fd = next;
      const st = fs.fstatSync(fd);
      if (!st.isDirectory()) fail(`${here} is not a folder (a link or a pin): remove it or choose another --pin-dir`);
      if (i < parts.length - 1 && (st.uid !== 0 || (st.mode & 0o022) !== 0)) {
        fail(`${here} is owned by uid ${st.uid} or writable by others: it cannot hold the shared pin; choose another --pin-dir`);
      }
    }
    return { fd, created };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Others may search /sys/fs/bpf (a systemd mount is 0700), or nobody but root reaches the pin. */
function ensureBpffsSearch(): boolean {
  const st = fs.statSync(BPFFS_ROOT);
  if ((st.mode & 0o001) !== 0) return false;
  fs.chmodSync(BPFFS_ROOT, (st.mode & 0o7777) | 0o001);
  return true;
}

/**
 * The pin folder root:GROUP 3770, then @between() (the host opening the map, which pins it when
 * absent), then the pin, when there, root:GROUP 0660. Returns how they were before.
 */
function ownPin(pinPath: string, gid: number, between: () => void = () => undefined): { dirCreated: boolean; dirBefore: Ownership; pinBefore?: Ownership } {
  const { fd, created } = openPinDir(path.dirname(pinPath));
  try {
    const dirBefore = ownership(fd);
    setOwnership(fd, { uid: 0, gid, mode: PIN_DIR_MODE });
    const pinBefore = ownedPin(fd, path.basename(pinPath), gid);
    between();
    if (!pinBefore) ownedPin(fd, path.basename(pinPath), gid);
    return { dirCreated: created, dirBefore, ...(pinBefore ? { pinBefore } : {}) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes pin @name in @dirFd root:GROUP 0660; returns how it was, or undefined when absent. */
function ownedPin(dirFd: number, name: string, gid: number): Ownership | undefined {
  const pin = openNoFollow(dirFd, name);
  if (pin === undefined) return undefined;
  try {
    if (!fs.fstatSync(pin).isFile()) fail(`${name} in the pin folder is not a pin (a link or a folder): remove it`);
    const before = ownership(pin);
    setOwnership(pin, { uid: 0, gid, mode: PIN_MODE });
    return before;
  } finally {
    fs.closeSync(pin);
  }
}

/** Whether this process is the installed host (its bundle lies in INSTALL_DIR). */
export function isInstalledHost(dir = __dirname): boolean {
  return path.resolve(dir) === INSTALL_DIR;
}

/**
 * Opens the installed host's map through @open, with the shared pin folder and pin set up
 * around it: bpffs is empty after a boot, so the folder is made (or checked) root:GROUP 3770
 * without following links before the map is opened, and the pin made root:GROUP 0660 after.
 * For a development host (not in INSTALL_DIR) it only calls @open. Throws a TldError saying
 * what could not be done.
 */
export function establishSharedPin(config: HostConfig, open: () => void, manifest = readManifest()): void {
  if (!isInstalledHost() || !manifest || process.geteuid?.() !== 0) {
    open();
    return;
  }
  try {
    if (manifest.bpffsSearchAdded) ensureBpffsSearch();
    ownPin(config.pinPath, manifest.gid, open);
  } catch (e) {
    if (e instanceof TldError) throw e;
    throw new TldError('EIO', `cannot set up the shared pin folder ${path.dirname(config.pinPath)}: ${(e as Error).message}`);
  }
}

/** Puts the pin folder and pin back as install found them (removes them when install made them). */
function restorePin(m: InstallManifest, report: Report): void {
  const pinPath = `${m.pinDir}/${MAP_NAME}`;
  let fd: number | undefined;
  try {
    fd = openNoFollow(undefined, m.pinDir);
    if (fd === undefined) return;
    if (!fs.fstatSync(fd).isDirectory()) return;
    const pin = openNoFollow(fd, MAP_NAME);
    if (pin !== undefined) {
      const isPin = fs.fstatSync(pin).isFile();
      if (isPin && m.pinBefore) setOwnership(pin, m.pinBefore);
      fs.closeSync(pin);
      if (isPin && !m.pinBefore) {
        fs.unlinkSync(fdPath(fd, MAP_NAME));
        report(`removed the pin ${pinPath} (programs holding the map keep it)`);
      }
    }
    if (m.pinDirBefore) {
      setOwnership(fd, m.pinDirBefore);
      report(`restored the owner and mode of ${m.pinDir}`);
    } else {
      try {
        fs.rmdirSync(m.pinDir);
        report(`removed ${m.pinDir}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw e;
        setOwnership(fd, { uid: 0, gid: 0, mode: 0o755 });
        report(`left ${m.pinDir} (it holds other pins), now root:root 0755`);
      }
    }
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Starts the installed host as root with no input: it opens (pins) the map and sets up the pin folder. */
function startInstalledHost(): void {
  let out: string;
  try {
    out = execFileSync(HOST_COMMAND, [], { encoding: 'utf8', input: '', env: {}, timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new TldError('EHELPER', `the installed helper host does not start: ${(err.stderr ?? '').trim() || err.message}`);
  }
  const first = out.split('\n')[0] ?? '';
  let hello: { hello?: string; error?: { message: string } };
  try {
    hello = JSON.parse(first) as typeof hello;
  } catch {
    throw new TldError('EHELPER', `the installed helper host said ${JSON.stringify(first.slice(0, 200))} instead of hello`);
  }
  if (hello.error) throw new TldError('EHELPER', `the installed helper host cannot open the map: ${hello.error.message}`);
}

/** A system call's failure as one line naming what failed; TldErrors pass as they are. */
function oneLine<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TldError) throw e;
    throw new TldError('EIO', `${what} stopped: ${(e as Error).message}`);
  }
}

/** tldctl helper install: see the README's privilege section. Idempotent. */
export function installHelper(opts: InstallOptions, report: Report): void {
  requireRoot(`helper install --user ${opts.user}`);
  oneLine('helper install (run it again, or tldctl helper uninstall to remove what it made)', () => install(opts, report));
}

function install(opts: InstallOptions, report: Report): void {
  checkUserName(opts.user);
  const user = getentUser(opts.user) ?? fail(`there is no user '${opts.user}'`);
  if (user.uid === 0) fail('root needs no helper host: give the ordinary user who runs VS Code or tldctl');
  const config = parseHostConfig({
    pinPath: `${(opts.pinDir ?? path.dirname(DEFAULT_HOST_CONFIG.pinPath)).replace(/\/+$/, '')}/${MAP_NAME}`,
    programPinRoot: (opts.programPinRoot ?? DEFAULT_HOST_CONFIG.programPinRoot).replace(/\/+$/, ''),
  });
  const root = opts.sourceRoot ?? studioRoot();
  const hostJs = path.join(root, 'dist', 'helperHost.js');
  const lib = opts.sourceRoot ? path.join(root, 'native', 'build', 'libtldhelper.so') : helperLibraryPath();
  for (const f of [hostJs, lib]) if (!fs.existsSync(f)) fail(`${f} is missing: run npm run build first`);
  const koffi = koffiPackages();

  const previous = readManifest();
  // A new pin folder: put the old one back first, so that the manifest describes one folder.
  if (previous && previous.pinDir !== path.dirname(config.pinPath)) restorePin(previous, report);
  const keepPin = previous && previous.pinDir === path.dirname(config.pinPath);

  // 1. The host's files.
  fs.mkdirSync(INSTALL_DIR, { recursive: true });
  fs.chownSync(INSTALL_DIR, 0, 0);
  fs.chmodSync(INSTALL_DIR, 0o755);
  copyAtomic(process.execPath, HOST_NODE, 0o755);
  copyAtomic(hostJs, HOST_JS, 0o644);
  copyAtomic(lib, HOST_LIB, 0o644);
  const modules = path.join(INSTALL_DIR, 'node_modules');
  fs.rmSync(modules, { recursive: true, force: true });
  for (const k of koffi) fs.cpSync(k.dir, path.join(modules, k.name), { recursive: true, dereference: true });
  sealTree(modules);
  writeAtomic(HOST_COMMAND, hostCommandScript(), 0o755);
  report(`installed the helper host in ${INSTALL_DIR} (Node ${process.version}, ${path.basename(lib)}, koffi)`);

  // 2. Its configuration.
  const configDirCreated = previous?.configDirCreated ?? !fs.existsSync(CONFIG_DIR);
  fs.mkdirSync(CONFIG_DIR, { recursive: true, mode: 0o755 });
  writeAtomic(HOST_CONFIG_PATH, JSON.stringify(config, null, 2) + '\n', 0o644);
  report(`wrote ${HOST_CONFIG_PATH}: pin ${config.pinPath}, programs under ${config.programPinRoot}`);

  // 3. The group of the users whose programs publish hints on the shared pin.
  let group = getentGroup(HELPER_GROUP);
  const groupCreated = previous?.groupCreated ?? !group;
  if (!group) {
    run('groupadd', ['--system', HELPER_GROUP], `create the group ${HELPER_GROUP}`);
    group = getentGroup(HELPER_GROUP) ?? fail(`groupadd did not create ${HELPER_GROUP}`);
    report(`created the system group ${HELPER_GROUP}`);
  }
  const addedToGroup = [...(previous?.addedToGroup ?? [])];
  if (!group.members.includes(user.name)) {
    run('gpasswd', ['-a', user.name, HELPER_GROUP], `add ${user.name} to the group ${HELPER_GROUP}`);
    if (!addedToGroup.includes(user.name)) addedToGroup.push(user.name);
    report(`added ${user.name} to ${HELPER_GROUP} (effective at the next login)`);
  }
  const users = [...new Set([...(previous?.users ?? []), user.name])];
  const bpffsSearchAdded = ensureBpffsSearch() || (previous?.bpffsSearchAdded ?? false);
  const owned = ownPin(config.pinPath, group.gid);
  const manifest: InstallManifest = {
    users,
    group: HELPER_GROUP,
    gid: group.gid,
    groupCreated,
    addedToGroup,
    bpffsSearchAdded,
    configDirCreated,
    pinDir: path.dirname(config.pinPath),
    ...(keepPin
      ? { pinDirBefore: previous.pinDirBefore, pinBefore: previous.pinBefore }
      : { pinDirBefore: owned.dirCreated ? undefined : owned.dirBefore, pinBefore: owned.pinBefore }),
  };
  writeAtomic(MANIFEST_PATH, JSON.stringify(manifest, null, 2) + '\n', 0o644);

  // 4. Who may start it: sudo and pkexec, for exactly HOST_COMMAND with no arguments.
  installSudoers(users);
  report(`wrote ${SUDOERS_PATH}: ${users.join(', ')} may run sudo -n ${HOST_COMMAND}`);
  fs.mkdirSync(path.dirname(POLKIT_POLICY_PATH), { recursive: true });
  writeAtomic(POLKIT_POLICY_PATH, polkitPolicyText(), 0o644);
  if (fs.existsSync(path.dirname(POLKIT_RULES_PATH))) writeAtomic(POLKIT_RULES_PATH, polkitRulesText(users), 0o644);
  report(`wrote the polkit action ${POLKIT_ACTION_ID} (pkexec ${HOST_COMMAND})`);

  // 5. The host pins the shared map and gives it to the group, as it does at every start.
  startInstalledHost();
  report(`the shared pin ${config.pinPath} is root:${HELPER_GROUP} 0660 in a folder root:${HELPER_GROUP} 3770`);
}

/** tldctl helper uninstall: removes what install made and puts back what it changed. */
export function uninstallHelper(report: Report): void {
  requireRoot('helper uninstall');
  oneLine('helper uninstall (run it again to finish)', () => uninstall(report));
}

function uninstall(report: Report): void {
  const m = readManifest();
  for (const f of [SUDOERS_PATH, POLKIT_RULES_PATH, POLKIT_POLICY_PATH]) {
    if (fs.existsSync(f)) {
      fs.rmSync(f);
      report(`removed ${f}`);
    }
  }
  if (m) {
    restorePin(m, report);
    for (const u of m.addedToGroup) {
      if (!m.groupCreated && getentGroup(m.group)?.members.includes(u)) {
        run('gpasswd', ['-d', u, m.group], `remove ${u} from the group ${m.group}`);
        report(`removed ${u} from ${m.group}`);
      }
    }
    if (m.groupCreated && getentGroup(m.group)) {
      run('groupdel', [m.group], `remove the group ${m.group}`);
      report(`removed the group ${m.group}`);
    }
    if (m.bpffsSearchAdded) {
      const st = fs.statSync(BPFFS_ROOT);
      fs.chmodSync(BPFFS_ROOT, st.mode & 0o7776);
      report(`took back others' search permission on ${BPFFS_ROOT}`);
    }
  }
  if (fs.existsSync(HOST_CONFIG_PATH)) {
    fs.rmSync(HOST_CONFIG_PATH);
    report(`removed ${HOST_CONFIG_PATH}`);
  }
  if (m?.configDirCreated && fs.existsSync(CONFIG_DIR) && fs.readdirSync(CONFIG_DIR).length === 0) fs.rmdirSync(CONFIG_DIR);
  if (fs.existsSync(INSTALL_DIR)) {
    fs.rmSync(INSTALL_DIR, { recursive: true, force: true });
    report(`removed ${INSTALL_DIR}`);
  }
  if (!m) report('no install record was found: removed the fixed files only');
}
