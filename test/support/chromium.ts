// The Chromium the end-to-end tests and the webview benchmarks drive: Debian's, through the
// playwright-core that scripts/setup-e2e.sh installs in test/e2e.
import { createRequire } from 'node:module';
import * as path from 'node:path';

import type { Browser } from '../e2e/node_modules/playwright-core';
import { repoRoot } from './repo';

const e2eRequire = createRequire(path.join(repoRoot, 'test', 'e2e', 'package.json'));

/** The page size every test and benchmark uses, so screenshots and frame times compare. */
export const VIEWPORT = { width: 1400, height: 900 } as const;

export async function launchChromium(): Promise<Browser> {
  const { chromium } = e2eRequire('playwright-core') as typeof import('../e2e/node_modules/playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
