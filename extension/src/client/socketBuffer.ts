// A socket's send buffer, grown so that a large reply leaves in one write (setsockopt through
// koffi: Node has no call for it on a stdio socket).
import { loadLibrary } from './koffiLibrary';

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
/** SO_SNDBUF past net.core.wmem_max; needs CAP_NET_ADMIN, which the installed host has. */
const SO_SNDBUFFORCE = 32;

type SetOpt = (fd: number, level: number, name: number, value: number[], len: number) => number;
type GetOpt = (fd: number, level: number, name: number, value: number[], len: number[]) => number;
let calls: { set: SetOpt; get: GetOpt } | undefined;

function libc(): { set: SetOpt; get: GetOpt } {
  if (!calls) {
    const lib = loadLibrary('libc.so.6');
    calls = {
      set: lib.func('int setsockopt(int fd, int level, int name, _In_ int *value, uint32_t len)') as SetOpt,
      get: lib.func('int getsockopt(int fd, int level, int name, _Out_ int *value, _Inout_ uint32_t *len)') as GetOpt,
    };
  }
  return calls;
}

/**
 * Asks for a send buffer of @bytes on socket @fd (forced past the system's limit where this
 * process may, else up to that limit) and returns the size the kernel then reports (it doubles
 * what it is given, for its bookkeeping). A larger buffer is only a speed-up: nothing here
 * throws; an fd that is no socket (ENOTSOCK) keeps what it has and gives 0.
 */
export function growSendBuffer(fd: number, bytes: number): number {
  const { set, get } = libc();
  if (set(fd, SOL_SOCKET, SO_SNDBUFFORCE, [bytes], 4) !== 0) set(fd, SOL_SOCKET, SO_SNDBUF, [bytes], 4);
  const size = [0];
  return get(fd, SOL_SOCKET, SO_SNDBUF, size, [4]) === 0 ? (size[0] ?? 0) : 0;
}
