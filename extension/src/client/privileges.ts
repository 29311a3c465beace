// Whether this process may use BPF directly, from its effective capabilities.
import * as fs from 'node:fs';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export function effectiveCaps(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] ? BigInt('0x' + m[1]) : 0n;
  } catch {
    return 0n;
  }
}

/** CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN which implies both. */
export function hasBpfPrivileges(caps = effectiveCaps()): boolean {
  const has = (bit: bigint) => (caps >> bit) & 1n;
  return has(CAP_SYS_ADMIN) === 1n || (has(CAP_BPF) === 1n && has(CAP_PERFMON) === 1n);
}

export const PRIVILEGE_HELP =
  'reading and writing task local data needs CAP_BPF and CAP_PERFMON: run as root ' +
  '(for example `sudo tldctl ...`), or allow `sudo -n` for the helper host';
