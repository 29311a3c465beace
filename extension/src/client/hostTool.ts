// Finding a host tool the way a shell would, and where Debian keeps root's tools besides.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The absolute path of a host tool, from PATH then (@alsoSbin) the sbin folders, which a
 * user's PATH may lack; null when absent. Without @alsoSbin, PATH alone, as a shell finds it.
 */
export function lookupTool(name: string, env: NodeJS.ProcessEnv = process.env, alsoSbin = true): string | null {
  if (name.includes('/')) return isExecutable(name) ? path.resolve(name) : null;
  const dirs = (env.PATH ?? '').split(':').filter((d) => d !== '');
  for (const extra of alsoSbin ? ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'] : []) {
    if (!dirs.includes(extra)) dirs.push(extra);
  }
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
