// The KVM probe's verdict, kept on disk for this boot of the host. Where KVM is present but
// fails ("KVM internal error" under broken nested virtualisation), the probe only learns it once
// SeaBIOS has run into the failure, seconds later; every vm run used to pay that again.
// Keyed by the host's boot id, the qemu binary and /dev/kvm: a reboot, another qemu or a
// reloaded kvm module probes afresh. Timeouts are never kept (a busy host is not a verdict).
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface AccelVerdict {
  readonly accel: 'kvm' | 'tcg';
  readonly reason: string;
}

interface Entry extends AccelVerdict {
  readonly key: string;
  readonly at: string;
}

/** What the verdict depends on, or null when it cannot be told (then nothing is kept). */
export function accelKey(qemu: string): string | null {
  try {
    const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const real = fs.realpathSync(qemu);
    const q = fs.statSync(real);
    const kvm = fs.statSync('/dev/kvm');
    return `${bootId}|${real}|${q.size}|${q.mtimeMs}|${kvm.rdev}|${kvm.ctimeMs}`;
  } catch {
    return null;
  }
}

/** The kept verdict for @key, or null. */
export function readVerdict(file: string, key: string): (AccelVerdict & { at: string }) | null {
  try {
    const e = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Entry>;
    if (e.key !== key || (e.accel !== 'kvm' && e.accel !== 'tcg') || typeof e.reason !== 'string' || typeof e.at !== 'string') return null;
    return { accel: e.accel, reason: e.reason, at: e.at };
  } catch {
    return null;
  }
}

/** Keeps @v for @key; a cache that cannot be written only costs the next run a probe. */
export function writeVerdict(file: string, key: string, v: AccelVerdict): void {
  const entry: Entry = { key, accel: v.accel, reason: v.reason, at: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, `${JSON.stringify(entry)}\n`);
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}
