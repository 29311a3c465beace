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
import { lookupTool } from '../client/hostTool';
import { defaultPinPath } from '../client/paths';
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
 * An overlay's file name: `overlay-NODE-INPUTS.cpio.gz`, NODE naming the Node binary it carries
 * (@nodeKey: its real path, hashed) and INPUTS everything that went in (@inputsKey).
 */
export function overlayName(nodeKey: string, inputsKey: string): string {
  return `overlay-${nodeKey}-${inputsKey}.cpio.gz`;
}

const OVERLAY = /^overlay-(?:([0-9a-f]+)-)?[0-9a-f]+\.cpio\.gz$/;

/**
 * The overlays among @files (a listing of the cache folder) to delete once @kept is there: those
 * of the same Node with other inputs (a rebuilt bundle, an upgraded Node: never used again) and
 * those named before the Node was part of the name. Another Node's stay: the CLI (the system's
 * Node) and the extension (VS Code's) each keep theirs instead of packing it again (about 30 s)
 * after the other ran. Files that are not finished overlays (a pack in progress) stay too.
 */
export function staleOverlays(files: readonly string[], kept: string): string[] {
  const node = OVERLAY.exec(kept)?.[1];
  if (node === undefined) return [];
  return files.filter((f) => {
    const m = OVERLAY.exec(f);
    return m !== null && f !== kept && (m[1] === undefined || m[1] === node);
  });
}

/** The part of an overlay's name that stands for @node: its real path (a link such as /usr/bin/node is the same Node), hashed. */
function nodeKey(node: string): string {
  let real = node;
  try {
    real = fs.realpathSync(node);
  } catch {
    // Missing: packing it fails with its own message.
  }
  return crypto.createHash('sha256').update(real).digest('hex').slice(0, 12);
}

/**
 * The overlay archive (cached under cacheDir/guest-helper, named by the Node it carries and what
 * went in): Node with its libraries, helperHost.js, libtldhelper.so with its libraries, and
 * koffi. Built when missing (about 8 s here for gzip -1 of Node), then reused; one is kept per
 * Node binary (staleOverlays).
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
  const name = overlayName(nodeKey(node), hash.digest('hex').slice(0, 16));
  const out = path.join(dir, name);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(dir, { recursive: true });
  onStep?.(`packing Node and the helper host for the guest (once for this Node; kept in ${dir})`);
  await buildOverlay({ out, executables, files, level: 1 });
  for (const f of staleOverlays(fs.readdirSync(dir), name)) fs.rmSync(path.join(dir, f), { force: true });
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
