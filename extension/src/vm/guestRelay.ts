// The host's end of a guest's helper host: qemu connects its virtio-serial port to one Unix
// socket of the relay, and any number of clients (tldctl vm ps, the extension's views)
// connect to another and speak the helper host's own protocol (client/protocol.ts), each with
// its own request ids, which the relay renumbers on the way in and back on the way out. The
// relay reads and writes frames with the protocol's own codec: it greets the guest's host as
// a client does, and greets each client as the host does.
//
// A running VM is found by its client socket: VM_RUN_DIR/<pid of vm run>.sock, in a folder
// only its user can enter (the guest is that user's, root inside it included).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { ABI_VERSION } from '../client/nativeHelper';
import {
  CLIENT_HELLO,
  FrameReader,
  HostHello,
  HostReply,
  PROTOCOL_VERSION,
  REPLY_LIMITS,
  REQUEST_LIMITS,
  encodeFrame,
  encodeReply,
  encodeRequest,
  parseClientHello,
  parseHostReply,
  parseHostRequest,
  protocolMismatch,
  requestIdOf,
} from '../client/protocol';

/** The folder of running VMs' sockets: $TLD_VM_RUN_DIR, /run/tld-studio/vm (root), or the user's runtime folder. */
export function vmRunDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TLD_VM_RUN_DIR) return env.TLD_VM_RUN_DIR;
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return '/run/tld-studio/vm';
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'tld-studio', 'vm');
  return path.join(os.tmpdir(), `tld-studio-${uid}`, 'vm');
}

/** A running VM that can be inspected: its id (the pid of its vm run) and its relay's socket. */
export interface RunningVm {
  readonly id: number;
  readonly socket: string;
}

/** The VMs running now, by id; sockets of runs that are gone are removed. */
export function runningVms(dir = vmRunDir()): RunningVm[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const vms: RunningVm[] = [];
  for (const n of names) {
    const m = /^(\d+)\.sock$/.exec(n);
    if (!m) continue;
    const id = Number(m[1]);
    const socket = path.join(dir, n);
    if (alive(id)) vms.push({ id, socket });
    else fs.rmSync(socket, { force: true });
  }
  return vms.sort((a, b) => a.id - b.id);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The VM @id names, or the only one running; a TldError saying what runs otherwise. */
export function pickVm(id?: number, dir = vmRunDir()): RunningVm {
  const vms = runningVms(dir);
  if (id !== undefined) {
    const vm = vms.find((v) => v.id === id);
    if (!vm) throw new TldError('ESRCH', `no VM ${id} is running${vms.length ? ` (running: ${vms.map((v) => v.id).join(', ')})` : ''}`);
    return vm;
  }
  if (vms.length === 0) throw new TldError('ESRCH', 'no VM is running: start one with tldctl vm run (or Run Scheduler in VM), then inspect its guest while it runs');
  if (vms.length > 1) throw new TldError('EINVAL', `${vms.length} VMs are running (${vms.map((v) => v.id).join(', ')}): say which with --vm ID`);
  return vms[0]!;
}

interface Route {
  readonly client: net.Socket;
  readonly id: number;
}

export class GuestRelay {
  private guest: net.Socket | undefined;
  private hello: HostHello | undefined;
  private nextId = 1;
  private readonly routes = new Map<number, Route>();
  private readonly clients = new Set<net.Socket>();

  private constructor(
    /** qemu's end: `-chardev socket,path=THIS` (qemu connects to it). */
    readonly qemuSocket: string,
    /** The clients' end. */
    readonly clientSocket: string,
    private readonly qemuServer: net.Server,
    private readonly clientServer: net.Server,
  ) {}

  /**
   * Listens for qemu in @work and for clients in vmRunDir() under this process's pid.
   * @onLog gets one line when the guest's helper host is up or gone.
   */
  static async start(work: string, onLog: (line: string) => void, dir = vmRunDir()): Promise<GuestRelay> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.statSync(dir);
    if (st.uid !== (process.getuid?.() ?? 0) || (st.mode & 0o077) !== 0) {
      throw new TldError('EPERM', `${dir} must be this user's and private (mode 700) to hold the guest's socket; remove it, or set TLD_VM_RUN_DIR`);
    }
    const qemuSocket = path.join(work, 'guest-helper.sock');
    const clientSocket = path.join(dir, `${process.pid}.sock`);
    fs.rmSync(clientSocket, { force: true });
    let relay: GuestRelay | undefined;
    const qemuServer = net.createServer((s) => relay?.guestConnected(s, onLog));
    const clientServer = net.createServer((s) => relay?.clientConnected(s));
    await listen(qemuServer, qemuSocket);
    try {
      await listen(clientServer, clientSocket);
    } catch (e) {
      qemuServer.close();
      throw e;
    }
    fs.chmodSync(clientSocket, 0o600);
    relay = new GuestRelay(qemuSocket, clientSocket, qemuServer, clientServer);
    return relay;
  }

  /** A (re)booted qemu: the guest's helper host will say hello on it. */
  private guestConnected(s: net.Socket, onLog: (line: string) => void): void {
    this.guest?.destroy();
    this.guest = s;
    this.hello = undefined;
    s.on('error', () => undefined);
    const frames = new FrameReader(
      REPLY_LIMITS,
      (frame) => {
        const msg = parseHostReply(frame);
        if (!msg) return;
        if ('hello' in msg) {
          this.hello =
            msg.error || msg.protocol === PROTOCOL_VERSION
              ? msg
              : { ...msg, error: { code: 'EHELPER', message: protocolMismatch(msg.protocol, PROTOCOL_VERSION, 'restart the VM with this TLD Studio') } };
          onLog(this.hello.error ? `the guest's helper host could not start: ${this.hello.error.message}` : `the guest's helper host is up: tldctl vm ps (VM ${process.pid}) lists its processes`);
          // Greeted once it is up: the guest drops what reaches its port before the host opens it.
          if (!this.hello.error) s.write(encodeFrame(CLIENT_HELLO)[0]!);
          return;
        }
        const route = this.routes.get(msg.id);
        if (!route) return;
        this.routes.delete(msg.id);
        send(route.client, { ...msg, id: route.id });
      },
      (e) => {
        onLog(e.message);
        s.destroy();
      },
      "the guest's helper host",
    );
    s.on('data', (chunk: Buffer) => frames.push(chunk));
    s.on('close', () => {
      if (this.guest !== s) return;
      this.guest = undefined;
      this.hello = undefined;
      this.failAll('the guest stopped');
    });
  }

  private clientConnected(c: net.Socket): void {
    c.on('error', () => undefined);
    // A client before the guest's host is up is told so at once, rather than left waiting.
    send(c, this.hello ?? { hello: 'tld-helper-host', abi: ABI_VERSION, protocol: PROTOCOL_VERSION, error: { code: 'ESRCH', message: "the guest's helper host is not up yet (the guest is still booting): try again in a few seconds" } });
    if (!this.hello || this.hello.error) {
      c.end();
      return;
    }
    this.clients.add(c);
    c.on('close', () => {
      this.clients.delete(c);
      for (const [id, r] of this.routes) if (r.client === c) this.routes.delete(id);
    });
    let greeted = false;
    const frames = new FrameReader(
      REQUEST_LIMITS,
      (frame) => {
        if (!greeted) {
          // As the host does: a client of another protocol is told so, and served nothing.
          const hello = parseClientHello(frame);
          if (hello?.protocol === PROTOCOL_VERSION) {
            greeted = true;
            return;
          }
          const id = requestIdOf(frame);
          const message = protocolMismatch(PROTOCOL_VERSION, hello?.protocol, 'update the one that is older');
          if (id !== undefined) send(c, { id, ok: false, error: { code: 'EHELPER', message } });
          c.end();
          return;
        }
        const req = parseHostRequest(frame);
        if (!req) {
          const id = requestIdOf(frame);
          if (id !== undefined) send(c, { id, ok: false, error: { code: 'EINVAL', message: 'malformed request, or an id, pid or value out of range' } });
          return;
        }
        if (!this.guest) {
          send(c, { id: req.id, ok: false, error: { code: 'ESRCH', message: 'the guest stopped' } });
          return;
        }
        if (!c.writable) return; // ended by failAll meanwhile
        const id = this.nextId++;
        this.routes.set(id, { client: c, id: req.id });
        writeFrame(this.guest, encodeRequest({ ...req, id }));
      },
      () => c.destroy(),
      'a client',
    );
    c.on('data', (chunk: Buffer) => frames.push(chunk));
  }

  private failAll(message: string): void {
    for (const r of this.routes.values()) send(r.client, { id: r.id, ok: false, error: { code: 'ESRCH', message } });
    this.routes.clear();
    for (const c of this.clients) c.end();
  }

  close(): void {
    this.failAll('the VM run ended');
    this.guest?.destroy();
    this.qemuServer.close();
    this.clientServer.close();
    fs.rmSync(this.clientSocket, { force: true });
  }
}

/** Writes one frame to @s unless it has ended (a client that left, or one the guest's end closed). */
function send(s: net.Socket, msg: HostReply | HostHello): void {
  if (s.writable) writeFrame(s, encodeReply(msg));
}

/** A frame's chunks in one system call (corked: the other end wakes once). */
function writeFrame(s: net.Socket, chunks: readonly Uint8Array[]): void {
  s.cork();
  for (const chunk of chunks) s.write(chunk);
  s.uncork();
}

/** Listens on the Unix socket @socket; EIO naming it when it cannot. */
export function listen(server: net.Server, socket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new TldError('EIO', `cannot listen on ${socket}: ${e.message}`)));
    server.listen(socket, () => resolve());
  });
}
