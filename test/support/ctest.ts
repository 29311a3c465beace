// Runs the C test binaries' cases (see test/native/ctest.h) as node:test subtests.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

/** Exit code a C case uses to skip, with its reason on stdout. */
const SKIP = 77;
const CASE_TIMEOUT_MS = 120_000;

export interface CCase {
  readonly binary: string;
  readonly name: string;
}

/** The cases a C test binary defines, in order. Throws when the binary is missing. */
export function listCases(binary: string): CCase[] {
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} is not built: run npm run build`);
  }
  const r = spawnSync(binary, ['--list'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${path.basename(binary)} --list failed: ${r.stderr}`);
  }
  return r.stdout.split('\n').filter((l) => l.length > 0).map((name) => ({ binary, name }));
}

/** Runs one case in its own process; its output becomes diagnostics, its failure the test's. */
export function runCase(t: TestContext, c: CCase): void {
  const r = spawnSync(c.binary, [c.name], { encoding: 'utf8', timeout: CASE_TIMEOUT_MS });
  for (const line of r.stdout.split('\n')) {
    if (line.length > 0) t.diagnostic(line);
  }
  if (r.error) {
    throw new Error(`${c.name}: ${r.error.message}`);
  }
  if (r.status === SKIP) {
    t.skip(r.stdout.trim() || 'skipped without a reason');
    return;
  }
  if (r.status !== 0) {
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    throw new Error(`${c.name} failed (${how}):\n${r.stderr.trim()}`);
  }
}
