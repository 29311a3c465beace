// Turns on V8's code cache for the modules tldctl loads after this one (Node 22.1 and later;
// older Node has no such API and starts as before). Imported first by tldctl.ts.
import * as nodeModule from 'node:module';

// The cache lives in the temporary folder (Node's default), keyed by file contents.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
