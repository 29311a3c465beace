// Where files a user makes from TLD Studio's templates go: their own folder, never inside
// TLD Studio itself (the installed extension, or a checkout of the project, whose `make -C bpf`
// and npm test would then compile the user's scheduler).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The project's package name, which marks a checkout of TLD Studio in a package.json. */
const PROJECT_PACKAGE = 'tld-studio';

/** The folder new schedulers and programs go to when the chosen one belongs to TLD Studio. */
export function defaultUserFolder(home = os.homedir()): string {
  return path.join(home, 'tld-schedulers');
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function isProjectCheckout(dir: string): boolean {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === PROJECT_PACKAGE && fs.existsSync(path.join(dir, 'bpf', 'include', 'tld.bpf.h'));
  } catch {
    return false;
  }
}

/**
 * The TLD Studio tree @folder lies in: @studioRoot (the running installation) or a checkout of
 * the project above it; undefined when @folder is the user's own.
 */
export function studioTreeOf(folder: string, studioRoot: string): string | undefined {
  const abs = path.resolve(folder);
  if (isInside(abs, path.resolve(studioRoot))) return path.resolve(studioRoot);
  for (let dir = abs; ; dir = path.dirname(dir)) {
    if (isProjectCheckout(dir)) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export interface NewFileFolder {
  /** Where the new file goes. */
  readonly folder: string;
  /** Set when @folder replaced the one asked for, which belongs to TLD Studio at this path. */
  readonly insteadOf?: string;
}

/** @wanted, unless it belongs to TLD Studio: then the user's own folder (made when missing). */
export function newFileFolder(wanted: string, studioRoot: string, home = os.homedir()): NewFileFolder {
  const tree = studioTreeOf(wanted, studioRoot);
  if (tree === undefined) return { folder: wanted };
  const folder = defaultUserFolder(home);
  fs.mkdirSync(folder, { recursive: true });
  return { folder, insteadOf: tree };
}
