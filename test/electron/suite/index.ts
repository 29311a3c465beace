// The extension-host side of npm run test:electron: smoke tests of TLD Studio's activation and
// commands inside desktop VS Code. @vscode/test-electron calls run(); a rejection fails the run.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'tld-studio.tld-studio';

interface Contributed {
  readonly contributes: {
    readonly commands: readonly { readonly command: string }[];
    readonly walkthroughs: readonly { readonly id: string; readonly steps: readonly { readonly completionEvents: readonly string[] }[] }[];
  };
}

const tests: [string, () => Promise<void>][] = [];
const test = (name: string, fn: () => Promise<void>): void => {
  tests.push([name, fn]);
};

function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed in the test instance`);
  return ext;
}

test('the extension activates', async () => {
  await extension().activate();
  assert.equal(extension().isActive, true);
});

test('every contributed command is registered', async () => {
  const registered = new Set(await vscode.commands.getCommands(true));
  const pkg = extension().packageJSON as Contributed;
  const missing = pkg.contributes.commands.map((c) => c.command).filter((c) => !registered.has(c));
  assert.deepEqual(missing, []);
});

test('Doctor runs and writes its checks to the TLD Studio output', async () => {
  await vscode.commands.executeCommand('tldStudio.doctor');
});

test('the sched_ext VM view opens in the Task Local Data container', async () => {
  await vscode.commands.executeCommand('tldStudio.vm.focus');
});

test('the walkthrough is contributed with its six steps', async () => {
  const pkg = extension().packageJSON as Contributed;
  assert.deepEqual(pkg.contributes.walkthroughs.map((w) => w.id), ['tldStudio.gettingStarted']);
  const events = pkg.contributes.walkthroughs[0]!.steps.map((s) => s.completionEvents.join());
  assert.equal(events.length, 6);
  for (const e of events) assert.match(e, /^onContext:tldStudio\.walkthrough\.\w+$/);
  await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#tldStudio.gettingStarted`, false);
});

export async function run(): Promise<void> {
  const failed: string[] = [];
  for (const [name, fn] of tests) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (e) {
      failed.push(name);
      console.log(`not ok - ${name}\n  ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  console.log(`${tests.length - failed.length} of ${tests.length} passed`);
  if (failed.length) throw new Error(`${failed.length} smoke test(s) failed: ${failed.join('; ')}`);
}
