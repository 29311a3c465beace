// Where the repository's built artifacts are, for tests and benchmarks run from out/.
import * as path from 'node:path';

/** The repository root (this file runs from out/test/support/). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const nativeBuild = path.join(repoRoot, 'native', 'build');
export const bpfBuild = path.join(repoRoot, 'bpf', 'build');
