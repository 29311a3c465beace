// What a kernel of the VM runner's cache is (KernelInfo), and the progress reports of getting one.

/** What ensureKernel hands back; paths are absolute, inside the cache. */
export interface KernelInfo {
  /** The kernel release, as `uname -r` prints it in the guest ("6.18.15+deb13-cloud-amd64"). */
  readonly version: string;
  /** What qemu's -kernel boots: a bzImage, or for an ELF given by the user, that ELF (PVH). */
  readonly bzImage: string;
  /** The decompressed ELF vmlinux (with .BTF). */
  readonly vmlinuxElf: string;
  /** `bpftool btf dump file <vmlinux> format c`: include it from the guest's BPF programs. */
  readonly vmlinuxH: string;
  /** vmlinux.h defines `struct sched_ext_ops` (CONFIG_SCHED_CLASS_EXT=y). */
  readonly hasSchedExt: boolean;
  /** The ELF has a non-empty .BTF section (CONFIG_DEBUG_INFO_BTF=y). */
  readonly hasBtf: boolean;
  /** True when everything came from the cache, with no apt command and no decompression. */
  readonly fromCache: boolean;
  /** The kernel's modules (lib/modules/<version>), for Debian kernels. */
  readonly modulesDir?: string;
  /** The kernel's .config, for Debian kernels. */
  readonly configFile?: string;
  /** Where it came from: "debian:<package>=<deb version>", "built:linux=<deb version>" or "file:<path>". */
  readonly source: string;
}

/**
 * Progress reports, one kind per long step, told apart by `step`. Every kind has a `message`
 * fit for a status line; `download` and `decompress` also count bytes (`done` of `total`),
 * so any report fits the loose shape `{ step: string; done?: number; total?: number }`.
 *
 * - `lock-wait`: another process is filling the same cache; waiting for it.
 * - `cache-hit`: a cached kernel is used (the last report of such a call).
 * - `apt-update`: `apt-get update` of the private trixie-backports list (`message` follows apt's Get: lines).
 * - `resolve`: choosing the newest linux-image-6.18.*-cloud-amd64.
 * - `download`: `apt-get download`; `done`/`total` are bytes of the .deb.
 * - `unpack`: `dpkg-deb -x`.
 * - `read`: reading and hashing a user's kernel image.
 * - `decompress`: the bzImage payload into the ELF vmlinux; `done` bytes written, `total` when known.
 * - `btf-dump`: `bpftool btf dump` into vmlinux.h and the sched_ext check.
 * - `configure`: a built kernel's configuration (kernelBuild.ts).
 * - `compile`: its make; `done` counts kbuild steps, `total` is the last build's count when known.
 * - `warning`: something worked but less safely than it should (for example an unsigned archive).
 * - `done`: the kernel is ready (after a fresh build of the cache).
 */
export type Progress =
  | { readonly step: 'lock-wait'; readonly message: string }
  | { readonly step: 'cache-hit'; readonly message: string }
  | { readonly step: 'apt-update'; readonly message: string }
  | { readonly step: 'resolve'; readonly message: string }
  | { readonly step: 'download'; readonly message: string; readonly done: number; readonly total: number }
  | { readonly step: 'unpack'; readonly message: string }
  | { readonly step: 'read'; readonly message: string }
  | { readonly step: 'decompress'; readonly message: string; readonly done: number; readonly total?: number }
  | { readonly step: 'btf-dump'; readonly message: string }
  | { readonly step: 'configure'; readonly message: string }
  | { readonly step: 'compile'; readonly message: string; readonly done: number; readonly total?: number }
  | { readonly step: 'warning'; readonly message: string }
  | { readonly step: 'done'; readonly message: string };

export type ProgressStep = Progress['step'];

/** Which kernel, in words, for "booting …" lines: whose it is and where it came from. */
export function describeKernel(k: Pick<KernelInfo, 'version' | 'source'>): string {
  const [kind, ...rest] = k.source.split(':');
  const what = rest.join(':');
  switch (kind) {
    case 'built':
      return `${k.version}, the minimal kernel built from Debian's ${what.replace('=', ' ')} source`;
    case 'debian':
      return `${k.version}, Debian's ${what.replace('=', ' ')}`;
    default:
      return `${k.version}, from ${what}`;
  }
}
