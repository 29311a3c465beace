// The helper host inside the guest: the same helperHost.js bundle, helper library and koffi
// that the host runs, with a Node to run them, packed once as an initramfs overlay; the guest
// starts it on a virtio-serial port whose other end is the host's relay (guestRelay.ts).
//
// Why virtio-serial and one more initramfs archive:
// - The guest kernel (Debian's cloud kernel) has CONFIG_VIRTIO_CONSOLE=y but vsock only as a
//   module, which the initramfs does not carry: a virtserialport works with nothing added.
// - Node (about 95 MiB) is packed once per Node binary and kept in the cache; the kernel
//   unpacks concatenated archives, so each run appends it to its own small archive instead of
//   compressing it again. This works for ordinary users too, where virtiofs does not.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { koffiPackages } from '../client/helperInstall';
import { defaultPinPath } from '../client/paths';
import { lookupTool } from './exec';
import { InitramfsFile, buildOverlay } from './initramfs';

/** The name of the virtio-serial port the guest's helper host serves on. */
export const GUEST_HELPER_PORT = 'org.tldstudio.helper';
/** Where the overlay puts Node, the host bundle, the helper library and koffi in the guest. */
export const GUEST_HELPER_DIR = '/opt/tld-studio';

/** The Node for the guest: this one, unless this is Electron (desktop VS Code), then PATH's. */
export function guestNode(): string {
  if (process.versions.electron === undefined) return process.execPath;
  const node = lookupTool('node');
  if (!node) throw new TldError('ENOENT', 'inspecting the guest needs Node on the PATH (this is Electron, which cannot run in the guest); install Debian\'s nodejs package');
  return node;
}

export interface HelperOverlayInputs {
  /** TLD Studio's root: dist/helperHost.js and native/build/libtldhelper.so. */
  readonly studioRoot: string;
  readonly cacheDir: string;
  readonly node?: string;
}

/**
 * The overlay archive (cached under cacheDir/guest-helper, named by what went in): Node with
 * its libraries, helperHost.js, libtldhelper.so with its libraries, and koffi. Built when
 * missing (about 8 s here for gzip -1 of Node), then reused.
 */
export async function helperOverlay(inputs: HelperOverlayInputs, onStep?: (message: string) => void): Promise<string> {
  const node = inputs.node ?? guestNode();
  const hostJs = path.join(inputs.studioRoot, 'dist', 'helperHost.js');
  const lib = path.join(inputs.studioRoot, 'native', 'build', 'libtldhelper.so');
  for (const f of [hostJs, lib]) if (!fs.existsSync(f)) throw new TldError('ENOENT', `${f} is missing: run npm run build first`);
  const koffi = koffiPackages();
  const executables: InitramfsFile[] = [
    { src: node, dest: `${GUEST_HELPER_DIR}/node` },
    { src: lib, dest: `${GUEST_HELPER_DIR}/libtldhelper.so` },
  ];
  const files: InitramfsFile[] = [
    { src: hostJs, dest: `${GUEST_HELPER_DIR}/helperHost.js` },
    ...koffi.map((k) => ({ src: k.dir, dest: `${GUEST_HELPER_DIR}/node_modules/${k.name}` })),
  ];
  // Named by the inputs' paths, sizes and times: a rebuilt bundle or another Node is a new archive.
  const hash = crypto.createHash('sha256');
  for (const f of [...executables, ...files]) {
    const st = fs.statSync(f.src);
    hash.update(`${f.src}\0${f.dest}\0${st.size}\0${st.mtimeMs}\n`);
  }
  const dir = path.join(inputs.cacheDir, 'guest-helper');
  const out = path.join(dir, `overlay-${hash.digest('hex').slice(0, 16)}.cpio.gz`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(dir, { recursive: true });
  onStep?.(`packing Node and the helper host for the guest (once; kept in ${dir})`);
  await buildOverlay({ out, executables, files, level: 1 });
  // Older overlays are for inputs that are gone.
  for (const f of fs.readdirSync(dir)) if (f.startsWith('overlay-') && path.join(dir, f) !== out) fs.rmSync(path.join(dir, f), { force: true });
  return out;
}

/**
 * The guest's command that starts its helper host in the background on the port named
 * GUEST_HELPER_PORT (found by name under /sys/class/virtio-ports). The port is opened once,
 * read-write, for both stdin and stdout: the kernel lets one opener hold a port at a time.
 */
export function guestHelperCommand(pinPath = defaultPinPath({})): string {
  const d = GUEST_HELPER_DIR;
  return [
    'dev=',
    `for p in /sys/class/virtio-ports/*; do [ "$(cat $p/name 2>/dev/null)" = ${GUEST_HELPER_PORT} ] && dev=/dev/\${p##*/}; done`,
    `if [ -z "$dev" ]; then echo "tld-helper-host: no virtio-serial port ${GUEST_HELPER_PORT}: the guest cannot be inspected"; exit 0; fi`,
    `${d}/node ${d}/helperHost.js --pin ${pinPath} --lib ${d}/libtldhelper.so 0<>"$dev" 1>&0 &`,
  ].join('\n');
}
