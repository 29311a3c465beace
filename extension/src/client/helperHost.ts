// The privileged helper host: loads the same helper library and answers JSON-line requests
// on stdin (protocol.ts). Started by HostHelper through sudo or pkexec; ends with its stdin.
import * as readline from 'node:readline';

import { TldError } from './errors';
import { establishSharedPin, isInstalledHost } from './helperInstall';
import { readHostConfig } from './hostConfig';
import { defaultPinPath } from './layout';
import { ABI_VERSION, NativeHelper } from './nativeHelper';
import { HostHello, HostReply, HostRequest, parseHostRequest } from './protocol';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function send(msg: HostReply | HostHello): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

function errorOf(e: unknown): { code: string; message: string } {
  return e instanceof TldError ? { code: e.code, message: e.message } : { code: 'EHELPER', message: String(e) };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

async function answer(helper: NativeHelper, req: HostRequest): Promise<HostReply> {
  try {
    switch (req.method) {
      case 'list':
        return { id: req.id, ok: true, result: { bytes: b64(helper.listSync()) } };
      case 'snapshot':
        return { id: req.id, ok: true, result: { bytes: b64(helper.snapshotSync(req.pid)) } };
      case 'write': {
        const out = await helper.write(req.pid, req.tid, req.offset, Buffer.from(req.bytes, 'base64'));
        return { id: req.id, ok: true, result: { bytes: b64(out) } };
      }
      case 'attach':
        await helper.attach(req.pid, req.keys);
        return { id: req.id, ok: true, result: {} };
      case 'detach':
        await helper.detach(req.pid);
        return { id: req.id, ok: true, result: {} };
      case 'hostReport':
        return { id: req.id, ok: true, result: await helper.hostReport() };
      case 'objectCheck':
        return { id: req.id, ok: true, result: { findings: await helper.objectCheck(req.path) } };
      case 'objectLoad':
        return { id: req.id, ok: true, result: await helper.objectLoad(req.path, req.pinRoot, req.attach) };
      case 'progList':
        return { id: req.id, ok: true, result: { programs: await helper.progList(req.pinRoot) } };
      case 'progUnload':
        await helper.progUnload(req.pinRoot, req.progId);
        return { id: req.id, ok: true, result: {} };
      default: {
        const never: never = req;
        throw new TldError('EINVAL', `unknown request ${JSON.stringify(never)}`);
      }
    }
  } catch (e) {
    return { id: req.id, ok: false, error: errorOf(e) };
  }
}

function main(): void {
  let helper: NativeHelper;
  try {
    // The installed host serves the pin of its root-owned configuration, never the caller's.
    const config = isInstalledHost() ? readHostConfig() : undefined;
    helper = new NativeHelper(config?.pinPath ?? arg('--pin') ?? defaultPinPath(), config ? undefined : arg('--lib'));
    if (config) establishSharedPin(config, () => helper.open());
    else helper.open();
  } catch (e) {
    send({ hello: 'tld-helper-host', abi: ABI_VERSION, error: errorOf(e) });
    process.exitCode = 1;
    return;
  }
  send({ hello: 'tld-helper-host', abi: ABI_VERSION });
  const lines = readline.createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    const req = parseHostRequest(line);
    if (!req) {
      process.stderr.write(`tld-helper-host: dropped a malformed request: ${line.slice(0, 200)}\n`);
      return;
    }
    queue = queue.then(async () => send(await answer(helper, req)));
  });
  lines.on('close', () => {
    void queue.then(() => helper.dispose());
  });
}

main();
