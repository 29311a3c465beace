// The scheduler's object reaches the guest over a virtio-serial port once clang is done, so the
// guest boots while the host compiles instead of after (the compile is a fifth of a boot of
// the minimal kernel under TCG): a length line, then that many bytes, which the guest's loader
// reads itself (tld-scx-run --from-port, native/scx/scx_port.c) while it parses the kernel's BTF.
import * as net from 'node:net';
import * as path from 'node:path';

import { listen } from './guestRelay';
import { SerialPort } from './qemu';

/** The port's name, which the guest finds in /sys/class/virtio-ports. */
export const OBJECT_PORT = 'tld-object';

export class ObjectPort {
  private bytes: Uint8Array | undefined;
  private guest: net.Socket | undefined;

  private constructor(
    private readonly server: net.Server,
    readonly port: SerialPort,
  ) {}

  /** Listens in @work, where qemu connects as the port's host end when it starts. */
  static async listen(work: string): Promise<ObjectPort> {
    const socket = path.join(work, 'object.sock');
    let port: ObjectPort | undefined;
    const server = net.createServer((s) => port?.connected(s));
    await listen(server, socket);
    port = new ObjectPort(server, { name: OBJECT_PORT, socket });
    return port;
  }

  /** Sends @bytes to the guest: now, and again to a qemu the runner starts anew (a reboot). */
  send(bytes: Uint8Array): void {
    this.bytes = bytes;
    if (this.guest) this.write(this.guest);
  }

  close(): void {
    this.guest?.destroy();
    this.server.close();
  }

  private connected(s: net.Socket): void {
    this.guest?.destroy();
    this.guest = s;
    s.on('error', () => undefined); // qemu went: the boot's own result says why
    if (this.bytes) this.write(s);
  }

  private write(s: net.Socket): void {
    const bytes = this.bytes!;
    s.write(`${bytes.length}\n`);
    s.write(bytes);
  }
}
