// npm run test:electron: the extension's smoke tests inside desktop VS Code, downloaded by
// @vscode/test-electron (or VSCODE_EXECUTABLE). Where VS Code cannot be downloaded (this
// project's build machines reach only the npm registry and Debian mirrors) it says so and fails;
// the end-to-end suite of npm test runs real VS Code as code-server instead.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';

import { repoRoot } from '../support/repo';

const DOWNLOAD_HOST = 'https://update.code.visualstudio.com';

/** Whether the VS Code update service answers within @timeoutMs. */
async function reachable(timeoutMs = 10_000): Promise<string | undefined> {
  try {
    await fetch(`${DOWNLOAD_HOST}/api/releases/stable`, { signal: AbortSignal.timeout(timeoutMs) });
    return undefined;
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
  }
}

async function main(): Promise<number> {
  let executable = process.env.VSCODE_EXECUTABLE;
  if (executable && !fs.existsSync(executable)) {
    process.stderr.write(`test:electron: VSCODE_EXECUTABLE=${executable} does not exist\n`);
    return 1;
  }
  if (!executable) {
    const why = await reachable();
    if (why !== undefined) {
      process.stderr.write(
        `test:electron: cannot download VS Code: ${DOWNLOAD_HOST} is not reachable from this machine (${why}).\n` +
        '  These tests need desktop VS Code: run them where it can be downloaded, or set VSCODE_EXECUTABLE to a VS Code binary.\n' +
        '  The end-to-end tests of `npm test` run real VS Code as code-server instead (test/e2e).\n');
      return 1;
    }
    executable = await downloadAndUnzipVSCode({ version: process.env.VSCODE_VERSION ?? 'stable' });
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-electron-'));
  const workspace = path.join(home, 'workspace');
  fs.mkdirSync(workspace);
  try {
    return await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(__dirname, 'suite', 'index.js'),
      extensionTestsEnv: { TLD_ELECTRON_WORKSPACE: workspace },
      launchArgs: [workspace, '--disable-extensions', '--user-data-dir', path.join(home, 'user'), '--skip-welcome', '--skip-release-notes'],
    });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`test:electron: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
