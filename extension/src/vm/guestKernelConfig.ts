// The kernel configuration the VM runner's guest needs, defined once: the fragment the minimal
// kernel is built from (kernelBuild.ts) and the check that any kernel's .config has what the
// runner, TLD Studio's BPF programs and sched_ext schedulers use.

/** `y`, `n` (must be off or absent), or an exact value (a number, a quoted string). */
export type OptionValue = 'y' | 'n' | string;

export interface KernelOption {
  /** Without the CONFIG_ prefix. */
  readonly name: string;
  readonly value: OptionValue;
  /** What in the guest needs it, for the error that names a missing option. */
  readonly why: string;
  /**
   * `needed`: the runner or the programs it loads fail without it, on any kernel (checked on
   * Debian's too). `choice`: how the minimal kernel is made small and quick to boot; another
   * kernel may differ.
   */
  readonly role: 'needed' | 'choice';
}

const needed = (name: string, why: string, value: OptionValue = 'y'): KernelOption => ({ name, value, why, role: 'needed' });
const choice = (name: string, value: OptionValue, why: string): KernelOption => ({ name, value, why, role: 'choice' });

/** Applied on top of `make allnoconfig`, in this order; `make olddefconfig` fills the rest. */
export const GUEST_KERNEL_OPTIONS: readonly KernelOption[] = [
  // sched_ext and the BPF it runs on
  needed('SCHED_CLASS_EXT', 'sched_ext: the schedulers the runner loads'),
  needed('BPF_SYSCALL', 'bpf(): maps, programs, task storage, bpffs'),
  needed('BPF_JIT', 'sched_ext needs the BPF JIT'),
  needed('DEBUG_INFO_BTF', 'kernel BTF: CO-RE, struct_ops, uptr and vmlinux.h'),
  needed('BPF_EVENTS', 'tp_btf tracing programs (vm run --trace, schedulers that trace)'),
  needed('PERF_EVENTS', 'BPF tracing and perf event programs'),
  needed('KALLSYMS', 'BPF trampolines and fentry attach by name'),
  needed('FTRACE', 'fentry/fexit programs and tracefs'),
  needed('DYNAMIC_FTRACE', 'BPF trampolines (fentry/fexit) patch call sites'),
  needed('SCHED_INFO', "run delay in TLD Studio's per-thread scheduling records"),
  // The guest's plumbing
  needed('BLK_DEV_INITRD', 'the runner boots an initramfs'),
  needed('RD_GZIP', "the runner's initramfs is gzip-compressed"),
  needed('DEVTMPFS', '/dev in the initramfs'),
  needed('TMPFS', '/tmp in the guest'),
  needed('SERIAL_8250_CONSOLE', 'the guest console on ttyS0, which the runner reads'),
  needed('VIRTIO_PCI', 'virtio devices on the PCI bus (shares, the inspector port)'),
  needed('VIRTIO_CONSOLE', 'virtio-serial: the guest inspector\'s port'),
  needed('VIRTIO_FS', 'virtiofs: vm run --cmd shares the working folder'),
  needed('FUSE_FS', 'virtiofs is built on FUSE'),
  needed('CGROUPS', 'cgroup2, mounted for schedulers with cgroup operations'),
  needed('EXT_GROUP_SCHED', "sched_ext's cgroup operations"),
  needed('UNIX', 'Unix sockets: Node and the helper host in the guest'),
  needed('FUTEX', 'threads (glibc, Node)'),
  needed('EPOLL', 'Node\'s event loop in the guest'),
  needed('EVENTFD', 'Node\'s event loop in the guest'),
  needed('HIGH_RES_TIMERS', 'the latency workload\'s periodic timers'),
  needed('MULTIUSER', 'the guest tests run as an ordinary user too'),
  needed('CROSS_MEMORY_ATTACH', 'the helper reads a target\'s metadata with process_vm_readv'),
  // Choices of the minimal build: small, no modules, quick to boot under TCG.
  choice('64BIT', 'y', 'x86-64'),
  choice('SMP', 'y', 'the runner gives the guest several CPUs'),
  choice('NR_CPUS', '16', 'no more CPUs than a guest gets'),
  choice('MODULES', 'n', 'everything built in: no modules to load in the guest'),
  choice('LOCALVERSION', '"-tld-minimal"', 'the release names the build (uname -r)'),
  choice('LOCALVERSION_AUTO', 'n', 'no git suffix in the release'),
  choice('PRINTK', 'y', 'kernel messages on the console'),
  choice('PRINTK_TIME', 'y', 'timestamps in the boot log, to see where boot time goes'),
  choice('TTY', 'y', 'a console'),
  choice('SERIAL_8250', 'y', 'the console UART'),
  choice('BINFMT_ELF', 'y', 'programs'),
  choice('BINFMT_SCRIPT', 'y', 'the initramfs /init is a shell script'),
  choice('PROC_FS', 'y', '/proc'),
  choice('SYSFS', 'y', '/sys'),
  choice('SHMEM', 'y', 'tmpfs and memfd'),
  choice('SIGNALFD', 'y', 'libuv'),
  choice('TIMERFD', 'y', 'libuv'),
  choice('AIO', 'y', 'glibc'),
  choice('FILE_LOCKING', 'y', 'flock in the guest'),
  choice('POSIX_TIMERS', 'y', 'timer_create, clock_nanosleep'),
  choice('ADVISE_SYSCALLS', 'y', 'madvise (V8)'),
  choice('MEMBARRIER', 'y', 'membarrier (V8, liburcu)'),
  choice('RSEQ', 'y', 'glibc registers rseq'),
  choice('NO_HZ_IDLE', 'y', 'as Debian: idle CPUs stop their tick'),
  choice('PREEMPT_DYNAMIC', 'y', 'as Debian: preemption model chosen at boot'),
  choice('PREEMPT_VOLUNTARY', 'y', 'as Debian: voluntary preemption by default'),
  choice('HZ_250', 'y', "as Debian's kernel: the same tick for like-for-like timing"),
  choice('NET', 'y', 'Unix sockets'),
  choice('INET', 'y', 'loopback for programs that expect it'),
  choice('PCI', 'y', "qemu's virtio devices sit on PCI"),
  choice('VIRTIO_MENU', 'y', 'virtio drivers'),
  choice('ACPI', 'y', 'CPU discovery and poweroff on qemu\'s pc machine'),
  choice('CGROUP_SCHED', 'y', 'cgroup CPU control'),
  choice('FAIR_GROUP_SCHED', 'y', 'cgroup CPU control'),
  choice('SCHEDSTATS', 'y', 'as Debian: scheduler statistics (and SCHED_INFO)'),
  choice('KALLSYMS_ALL', 'y', 'symbols of data too, for BPF programs that look them up'),
  choice('BPF', 'y', 'BPF'),
  choice('BPF_JIT_ALWAYS_ON', 'y', 'as Debian: no interpreter'),
  choice('FUNCTION_TRACER', 'y', 'fentry/fexit need the function tracer'),
  choice('KPROBES', 'y', 'kprobe programs'),
  choice('KPROBE_EVENTS', 'y', 'kprobe programs'),
  choice('UPROBE_EVENTS', 'y', 'uprobe programs'),
  choice('DEBUG_KERNEL', 'y', 'shows the debug information options'),
  choice('DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT', 'y', 'DWARF, from which pahole makes BTF'),
  choice('HYPERVISOR_GUEST', 'y', 'shows PVH'),
  choice('PVH', 'y', 'qemu boots the ELF vmlinux directly, with no decompression under TCG'),
  choice('KERNEL_LZ4', 'y', 'the bzImage decompresses fastest'),
];

export interface MissingOption {
  readonly option: KernelOption;
  /** What the .config has: a value, or null when it is unset or absent. */
  readonly found: string | null;
}

/** `CONFIG_X=v` lines of a .config; `# CONFIG_X is not set` and absent options are missing. */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The options of `options` the config does not have as they must be. */
export function missingOptions(config: ReadonlyMap<string, string>, options: readonly KernelOption[]): MissingOption[] {
  const out: MissingOption[] = [];
  for (const option of options) {
    const found = config.get(option.name) ?? null;
    const ok = option.value === 'n' ? found === null || found === 'n' : found === option.value;
    if (!ok) out.push({ option, found });
  }
  return out;
}

/** The runner's needs only: what any kernel it boots must have. */
export function neededOptions(): KernelOption[] {
  return GUEST_KERNEL_OPTIONS.filter((o) => o.role === 'needed');
}

/** One line per missing option: its name, what was found, and what needs it. */
export function describeMissing(missing: readonly MissingOption[]): string {
  return missing
    .map(({ option, found }) => {
      const want = option.value === 'n' ? 'off' : option.value;
      return `CONFIG_${option.name}=${want} (${found === null ? 'not set' : `found ${found}`}): ${option.why}`;
    })
    .join('\n');
}

/** The fragment for scripts/kconfig/merge_config.sh. */
export function configFragment(options: readonly KernelOption[] = GUEST_KERNEL_OPTIONS): string {
  const seen = new Set<string>();
  const lines = ['# Written by TLD Studio: the VM runner\'s minimal sched_ext kernel (guestKernelConfig.ts).'];
  for (const o of options) {
    if (seen.has(o.name)) continue;
    seen.add(o.name);
    lines.push(o.value === 'n' ? `# CONFIG_${o.name} is not set` : `CONFIG_${o.name}=${o.value}`);
  }
  return `${lines.join('\n')}\n`;
}
