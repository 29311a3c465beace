// tldctl doctor and the extension's Doctor: what works on this host, and how to fix what does not.
import * as fs from 'node:fs';
import * as os from 'node:os';

import { HOST_COMMAND, HOST_CONFIG_PATH, readHostConfig } from './hostConfig';
import { InstallManifest, readManifest } from './helperInstall';
import { hostInstalled } from './hostHelper';
import { TldError } from './errors';
import { LAYOUT_START_IN_PAGE, LayoutRevision } from './layout';
import { ProcessSnapshot } from './snapshot';
import { defaultLibraryPath, nativeHostReport } from './nativeHelper';
import { defaultPinPath, toolchainFiles } from './paths';
import { BPFTOOL_MIN, LIBBPF_MIN, loadToolchain, versionAtLeast } from './toolchain';
import { clangVersion } from './compiler';
import { CAPABILITY_USE, hasSysAdmin, installCommand, missingCapabilities } from './privileges';

export interface DoctorCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** How to fix it, when it failed. */
  readonly fix?: string;
  /** Neither works nor fails: something absent that is not needed here (sched_ext on the host: schedulers run in the VM). */
  readonly info?: boolean;
}

/** The mark before a check: ✓ works, ✗ fails, – absent but not needed (never ✓ beside "absent"). */
export function doctorMark(c: DoctorCheck): string {
  if (!c.ok) return '✗';
  return c.info ? '–' : '✓';
}

function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/** What works on this host and how to fix what does not; needs no privileges. */
export function doctor(pinPath = defaultPinPath(), libraryPath = defaultLibraryPath()): DoctorCheck[] {
  if (!fs.existsSync(libraryPath)) {
    return [{ name: 'helper library', ok: false, detail: `missing at ${libraryPath}`, fix: 'npm run build' }];
  }
  const h = nativeHostReport(pinPath, libraryPath);
  const privileged = h.capBpf && h.capPerfmon;
  const missing = missingCapabilities().filter((c) => (c === 'CAP_BPF' ? !h.capBpf : !h.capPerfmon));
  const installed = hostInstalled();
  const checks: DoctorCheck[] = [
    {
      name: 'kernel',
      ok: kernelAtLeast(h.kernel, 6, 13),
      detail: h.kernel,
      fix: 'uptr task storage needs Linux 6.13 or later',
    },
    { name: 'kernel BTF', ok: h.btf, detail: '/sys/kernel/btf/vmlinux', fix: 'a kernel built with CONFIG_DEBUG_INFO_BTF=y' },
    { name: 'bpffs', ok: h.bpffs, detail: '/sys/fs/bpf', fix: 'sudo mount -t bpf bpf /sys/fs/bpf' },
    {
      name: 'privileges',
      // An ordinary user with the installed host needs none: the host holds them.
      ok: privileged || installed,
      detail: privileged
        ? `CAP_BPF and CAP_PERFMON${hasSysAdmin() ? '' : ` (no CAP_SYS_ADMIN: ${CAPABILITY_USE.CAP_SYS_ADMIN.replace(/^CAP_SYS_ADMIN to /, 'cannot ')})`}`
        : installed
          ? `this process lacks ${missing.join(' and ')}; the installed helper host holds them for it`
          : `missing ${missing.join(' and ')}: needs ${missing.map((c) => CAPABILITY_USE[c]).join('; and ')}`,
      fix: installed
        ? `run as root (sudo tldctl ...); tldctl and the extension start the installed helper host with sudo -n or pkexec`
        : `run as root (sudo tldctl ...), or install the helper host once: ${installCommand()}`,
    },
  ];
  if (!privileged || installed) {
    // An ordinary user's tools go through the installed host.
    let served: string | undefined;
    let configError = '';
    try {
      served = readHostConfig().pinPath;
    } catch (e) {
      configError = `${HOST_CONFIG_PATH} is unreadable: ${(e as Error).message}`;
    }
    checks.push({
      name: 'helper host',
      ok: installed && !configError,
      detail: !installed ? `not installed at ${HOST_COMMAND}` : configError || `${HOST_COMMAND}, serving ${served}`,
      fix: installCommand(),
    });
    const group = installed ? groupCheck() : undefined;
    if (group) checks.push(group);
  }
  if (privileged) {
    checks.push({ name: 'uptr task storage', ok: h.uptr, detail: 'create a task storage map with uptr values', fix: 'Linux 6.13+ with BTF' });
    checks.push({
      name: 'pinned map',
      ok: !h.pinExists || (h.pinOk && !h.pinProblem),
      detail: h.pinExists
        ? `${h.pinPath} (map id ${h.pinMapId}, used by ${h.pinUsers} program(s) and ${h.pinTasks} task(s))${h.pinProblem ? ': ' + h.pinProblem : ''}`
        : `${h.pinPath} not pinned yet (the first process or tool using it pins it)`,
      // The helper's advice names the folders involved and never removes a pin in use.
      ...(h.pinAdvice ? { fix: h.pinAdvice } : {}),
    });
  }
  checks.push(toolchainCheck());
  checks.push({
    name: 'sched_ext',
    ok: true,
    ...(h.schedExt ? {} : { info: true }),
    detail: h.schedExt ? 'present' : 'absent on this kernel: try schedulers in a VM with a sched_ext kernel',
  });
  return checks;
}

/** The libbpf, bpftool and clang schedulers are built with (scripts/libbpf.sh records the first two). */
export function toolchainCheck(files: readonly string[] = toolchainFiles()): DoctorCheck {
  const t = loadToolchain(files);
  const clang = clangVersion();
  const fix = 'bash scripts/libbpf.sh (npm run build runs it): it builds libbpf 1.5 once into the cache and fetches bpftool 7.5';
  if (!t) {
    return { name: 'toolchain', ok: false, detail: `no toolchain.json in ${files.join(' or ')}; clang ${clang?.version ?? 'missing'}`, fix };
  }
  const { libbpf, bpftool } = t;
  const from = libbpf.source === 'system' ? "the system's" : `static, cached in ${libbpf.static}${libbpf.buildSeconds !== null ? `, built in ${libbpf.buildSeconds} s` : ''}`;
  const problems = [
    !versionAtLeast(libbpf.version, LIBBPF_MIN) && `libbpf ${LIBBPF_MIN} or newer is needed`,
    !versionAtLeast(bpftool.version, BPFTOOL_MIN) && `bpftool ${BPFTOOL_MIN} or newer is needed`,
    !fs.existsSync(bpftool.path) && `${bpftool.path} is gone`,
    !clang && 'clang is missing (sudo apt-get install clang-19)',
  ].filter((p): p is string => typeof p === 'string');
  return {
    name: 'toolchain',
    ok: problems.length === 0,
    detail: `libbpf ${libbpf.version} (${from}), bpftool ${bpftool.version} (${bpftool.path}), clang ${clang ? `${clang.version} (${clang.clang})` : 'missing'}` +
      (problems.length ? `: ${problems.join('; ')}` : ''),
    fix,
  };
}

/** Whether this session's programs may open the shared pin: the install's group is one of its groups. */
function groupCheck(): DoctorCheck | undefined {
  let m: InstallManifest | undefined;
  try {
    m = readManifest();
  } catch {
    return undefined;
  }
  if (!m || process.geteuid?.() === 0) return undefined;
  const inSession = process.getgroups?.().includes(m.gid) ?? false;
  const user = os.userInfo().username;
  return {
    name: 'shared pin group',
    ok: inSession,
    detail: inSession
      ? `this session is in the group ${m.group}: its programs with CAP_BPF + CAP_PERFMON publish on the shared pin`
      : m.users.includes(user)
        ? `${user} was added to the group ${m.group}, but this session started before: its programs cannot open the shared pin`
        : `${user} is not in the group ${m.group}: programs started by ${user} cannot open the shared pin`,
    fix: m.users.includes(user) ? `log out and in again (or run newgrp ${m.group})` : installCommand(user),
  };
}

/** How a layout revision keeps `start`, for people. */
export function layoutLabel(layout: LayoutRevision): string {
  return layout === LAYOUT_START_IN_PAGE
    ? 'start in the data page (upstream\'s first revision, 16-byte map value)'
    : 'start in the map value (upstream\'s later revision, 24-byte map value)';
}

/**
 * `tldctl doctor PID`: whether process @pid's task local data reads right, from one snapshot
 * taken by @snapshot. A target laid out where readers look elsewhere fails with the reason.
 */
export async function processCheck(pid: number, snapshot: (pid: number) => Promise<ProcessSnapshot>): Promise<DoctorCheck> {
  const name = `process ${pid}`;
  try {
    const s = await snapshot(pid);
    const withPage = s.threads.filter((t) => t.hasData).length;
    return {
      name,
      ok: true,
      detail: `${s.keys.length} key(s) using ${s.used} of ${s.capacity} bytes, ${withPage} thread(s) with a page; ` +
        `${s.pageSize}-byte pages, ${layoutLabel(s.layout)}`,
    };
  } catch (e) {
    if (!(e instanceof TldError)) throw e;
    return {
      name,
      ok: false,
      // The check is named after the process already.
      detail: e.message.startsWith(`process ${pid}, `) ? e.message.slice(`process ${pid}, `.length) : e.message,
      fix: e.code === 'ELAYOUT'
        ? 'build the program against libtld (-I native/include/upstream -ltld: the drop-in for task_local_data.h), ' +
          'or give upstream\'s header a TLD_DYN_DATA_SIZE of half a page or more (its data then starts its page), or move to its later revision (start in the map value)'
        : undefined,
    };
  }
}
