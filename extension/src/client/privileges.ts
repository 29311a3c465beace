// Whether this process may use BPF directly, from its effective capabilities, and what each
// missing capability costs, in words a user can act on.
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Capability bit numbers (linux/capability.h). */
export const CAP_SYS_ADMIN = 21n;
export const CAP_PERFMON = 38n;
export const CAP_BPF = 39n;

export function effectiveCaps(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] ? BigInt('0x' + m[1]) : 0n;
  } catch {
    return 0n;
  }
}

const has = (caps: bigint, bit: bigint) => ((caps >> bit) & 1n) === 1n;

/** CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN which implies both. */
export function hasBpfPrivileges(caps = effectiveCaps()): boolean {
  return has(caps, CAP_SYS_ADMIN) || (has(caps, CAP_BPF) && has(caps, CAP_PERFMON));
}

export type Capability = 'CAP_BPF' | 'CAP_PERFMON' | 'CAP_SYS_ADMIN';

/** Why TLD Studio needs each capability, for messages. */
export const CAPABILITY_USE: Readonly<Record<Capability, string>> = {
  CAP_BPF: 'CAP_BPF to open and create the task storage map and load the helper\'s iterators (kernel.unprivileged_bpf_disabled)',
  CAP_PERFMON: 'CAP_PERFMON for the iterators to read other processes\' hint pages (uptr and task pointers)',
  CAP_SYS_ADMIN: 'CAP_SYS_ADMIN to list loaded BPF programs and maps and to read the map\'s BTF back (without it the map\'s type, sizes and flags are still checked)',
};

/** The capabilities of reading and writing hints that @caps lacks: CAP_BPF, CAP_PERFMON. */
export function missingCapabilities(caps = effectiveCaps()): Capability[] {
  if (has(caps, CAP_SYS_ADMIN)) return [];
  return (['CAP_BPF', 'CAP_PERFMON'] as const).filter((c) => !has(caps, c === 'CAP_BPF' ? CAP_BPF : CAP_PERFMON));
}

/** Whether @caps has CAP_SYS_ADMIN (only listing programs and the map's BTF check need it). */
export function hasSysAdmin(caps = effectiveCaps()): boolean {
  return has(caps, CAP_SYS_ADMIN);
}

/** The one command that lets this user's tools reach the helper host. */
export function installCommand(user = currentUser()): string {
  return `sudo tldctl helper install --user ${user}`;
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '$USER';
  }
}

export const PRIVILEGE_HELP =
  'reading and writing task local data needs CAP_BPF and CAP_PERFMON: run as root ' +
  `(for example \`sudo tldctl ...\`), or install the helper host once: ${installCommand()}`;
