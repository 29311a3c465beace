// Native libraries through koffi, with koffi set up before this process loads its first one:
// koffi refuses a change of its configuration after that, so every load goes through here.
import koffi, { LibraryHandle } from 'koffi';

/**
 * Asynchronous calls get koffi's small worker stack (128 KiB) by default; libbpf loading an
 * object with its verifier log goes deeper, so they get what synchronous calls have (2 MiB).
 * The helper's calls run one at a time, so one such stack is in use.
 */
const ASYNC_STACK = 2 << 20;

let configured = false;

/** koffi.load(@file), koffi set up first. */
export function loadLibrary(file: string): LibraryHandle {
  if (!configured) {
    if ((koffi.config().async_stack_size ?? 0) < ASYNC_STACK) koffi.config({ ...koffi.config(), async_stack_size: ASYNC_STACK });
    configured = true;
  }
  return koffi.load(file);
}
