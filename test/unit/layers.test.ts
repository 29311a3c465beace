// The import floors of STYLE.md that a file's place promises: tldctl is a shell over the client,
// like a view, so nothing else in the extension imports from it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { repoRoot } from '../support/repo';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The files of the repository each source file under @dir imports, resolved from its folder. */
function imports(dir: string): { file: string; target: string }[] {
  return sources(dir).flatMap((file) =>
    [...fs.readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'";]*from\s+'(\.[^']+)'/gm)].map((m) => ({
      file: path.relative(repoRoot, file),
      target: path.relative(repoRoot, path.resolve(path.dirname(file), m[1]!)),
    })),
  );
}

test('no file of the extension or the webview outside extension/src/cli imports from tldctl', () => {
  const cli = path.join('extension', 'src', 'cli') + path.sep;
  const wrong = [...imports(path.join(repoRoot, 'extension', 'src')), ...imports(path.join(repoRoot, 'webview', 'src'))].filter(
    (i) => !i.file.startsWith(cli) && i.target.startsWith(cli),
  );
  assert.deepEqual(wrong, []);
});

test('the webview bundle imports only the webview and the layout constants, nothing that needs Node', () => {
  const wrong = imports(path.join(repoRoot, 'webview', 'src')).filter(
    (i) => !i.target.startsWith(path.join('webview', 'src') + path.sep) && i.target !== path.join('extension', 'src', 'client', 'layout'),
  );
  assert.deepEqual(wrong, []);
});
