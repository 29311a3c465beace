// The one error class of the client: an errno-style code, and a message fit for users.
import * as os from 'node:os';

export type TldErrorCode =
  | 'EPERM'
  | 'ENOENT'
  | 'ESRCH'
  | 'EINVAL'
  | 'EEXIST'
  | 'ENOSPC'
  | 'EBADF'
  | 'EALREADY'
  | 'ENOMEM'
  | 'ECORRUPT' // metadata in the target process is corrupt or hostile
  | 'ELAYOUT' // the target lays data out where readers look elsewhere (upstream's TLD_DYN_DATA_SIZE bug)
  | 'EHELPER' // the helper library or host failed
  | 'EIO';

export class TldError extends Error {
  constructor(
    readonly code: TldErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TldError';
  }

  /** From a helper call's negative errno and message. */
  static fromErrno(rc: number, message: string): TldError {
    return new TldError(errnoName(-rc), message);
  }
}

const known: ReadonlySet<string> = new Set<TldErrorCode>([
  'EPERM', 'ENOENT', 'ESRCH', 'EINVAL', 'EEXIST', 'ENOSPC', 'EBADF', 'EALREADY', 'ENOMEM',
]);

function errnoName(errno: number): TldErrorCode {
  for (const [name, value] of Object.entries(os.constants.errno)) {
    if (value === errno && known.has(name)) return name as TldErrorCode;
  }
  if (errno === os.constants.errno.EACCES) return 'EPERM';
  return 'EIO';
}
