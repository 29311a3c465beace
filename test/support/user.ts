// An ordinary (non-root) user for the tests that check what a desktop user gets: created once
// when missing (the tests run as root), and a command prefix that runs a child as that user,
// optionally with CAP_BPF + CAP_PERFMON as a hint-publishing program would hold them.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { repoRoot } from './repo';

export const TEST_USER = 'tld-tester';

export interface TestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

function lookup(name: string): TestUser | undefined {
  try {
    const [, , uid, gid, , home] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid), home: home ?? `/home/${name}` };
  } catch {
    return undefined;
  }
}

/**
 * Lets others search (x, not read) every folder down to the checkout, so the test user reaches
 * the built tldctl, libraries and fixtures: a checkout in a 0700 folder (mktemp -d) is otherwise
 * closed to it. Nothing below the checkout changes.
 */
function openPathToCheckout(): void {
  for (let dir = repoRoot; ; dir = path.dirname(dir)) {
    const mode = fs.statSync(dir).mode;
    if (!(mode & 0o001)) fs.chmodSync(dir, (mode & 0o7777) | 0o001);
    if (dir === path.dirname(dir)) return;
  }
}

/** The test user, created (with a home folder) when this machine has none. Needs root. */
export function ensureTestUser(name = TEST_USER): TestUser {
  openPathToCheckout();
  const found = lookup(name);
  if (found) return found;
  execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  const made = lookup(name);
  if (!made) throw new Error(`useradd did not create ${name}`);
  return made;
}

export type Cap = 'bpf' | 'perfmon' | 'sys_admin';

/**
 * argv prefix that runs a command as @u (real and effective ids, its groups) with @caps
 * raised as ambient capabilities, so they survive exec as they do for a program started
 * by `setpriv`/`capsh` or a systemd unit's AmbientCapabilities.
 */
export function asUser(u: TestUser, caps: readonly Cap[] = []): string[] {
  const out = ['setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups'];
  if (caps.length > 0) {
    const list = caps.map((c) => `+${c}`).join(',');
    out.push(`--inh-caps=${list}`, `--ambient-caps=${list}`);
  } else {
    out.push('--inh-caps=-all');
  }
  return [...out, '--'];
}

/** The environment a child of @u should see: its own HOME and cache, nothing of root's. */
export function userEnv(u: TestUser, base: NodeJS.ProcessEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, HOME: u.home, USER: u.name, LOGNAME: u.name, ...extra };
  delete env.XDG_CACHE_HOME;
  delete env.SUDO_UID;
  delete env.PKEXEC_UID;
  return env;
}
