// Which cached guest-helper overlays go when one is packed: only the same Node's older ones.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { overlayName, staleOverlays } from '../../extension/src/vm/guestHelper';

test('packing an overlay removes the same Node\'s overlays of other inputs, and old-style names, but keeps every other Node\'s', () => {
  const cli = overlayName('aaaaaaaaaaaa', '1111111111111111');
  const cliOld = overlayName('aaaaaaaaaaaa', '2222222222222222');
  const vscode = overlayName('bbbbbbbbbbbb', '3333333333333333');
  const before = 'overlay-0123456789abcdef.cpio.gz'; // named before Node was part of the name
  const files = [cli, cliOld, vscode, before, `${cli}.tmp-123`, `${vscode}.tmp-456`, 'notes.txt'];
  assert.deepEqual(staleOverlays(files, cli).sort(), [before, cliOld].sort());
  assert.deepEqual(staleOverlays(files, vscode).sort(), [before].sort(), 'the CLI\'s overlays stay when the extension packs its own');
});

test('an overlay pack in progress (its temporary file) is never removed, whoever packs', () => {
  const kept = overlayName('aaaaaaaaaaaa', '1111111111111111');
  const inProgress = `${overlayName('aaaaaaaaaaaa', '4444444444444444')}.tmp-999`;
  assert.deepEqual(staleOverlays([kept, inProgress], kept), []);
});

test('two Node binaries give two overlay names for the same inputs', () => {
  assert.notEqual(overlayName('aaaaaaaaaaaa', '1111111111111111'), overlayName('bbbbbbbbbbbb', '1111111111111111'));
});
