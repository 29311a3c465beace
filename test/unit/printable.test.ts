// printable(): names from a target shown with every control character escaped, nothing else changed.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { jsonSafe, printable } from '../../extension/src/client/printable';
import { toJson } from '../../extension/src/client/values';

/** Characters a terminal or a label acts on: C0, DEL, C1, line separators, bidi controls. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

test('printable escapes ESC sequences that set the title or clear the screen, visibly', () => {
  assert.equal(printable('\x1b]0;pwned\x07'), '\\x1b]0;pwned\\x07');
  assert.equal(printable('a\x1b[2J\x1bcb'), 'a\\x1b[2J\\x1bcb');
});

test('printable escapes every C0 control, DEL and every C1 control (U+009B CSI included)', () => {
  for (let c = 0; c < 0x20; c++) assert.equal(printable(String.fromCharCode(c)), `\\x${c.toString(16).padStart(2, '0')}`);
  assert.equal(printable('\x7f'), '\\x7f');
  for (let c = 0x80; c < 0xa0; c++) assert.equal(printable(String.fromCharCode(c)), `\\x${c.toString(16)}`);
  assert.equal(printable('\u009b31m'), '\\x9b31m');
});

test('printable escapes bidirectional overrides and line separators, which make a name read as another', () => {
  assert.equal(printable('evil\u202egpj.exe'), 'evil\\u202egpj.exe');
  assert.equal(printable('a\u2028b\u2066c\u2069'), 'a\\u2028b\\u2066c\\u2069');
});

test('printable leaves ordinary names alone, UTF-8 letters and symbols included', () => {
  for (const s of ['sched.latency_critical', 'tld-demo', 'kworker/0:1H', 'café ☕ 名前', 'a b\\c', '']) assert.equal(printable(s), s);
});

test('printable output holds no control character, and a second pass changes nothing', () => {
  let all = '';
  for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c);
  const once = printable(all);
  assert.doesNotMatch(once, CONTROL);
  assert.equal(printable(once), once);
});

test('printable with lines keeps newlines and escapes the rest of each line', () => {
  assert.equal(printable('one\x1b[2J\ntwo\r', { lines: true }), 'one\\x1b[2J\ntwo\\x0d');
  assert.equal(printable('one\ntwo'), 'one\\x0atwo');
});

test('JSON output keeps every name exact yet holds no raw control character (C1 and bidi written as \\u escapes)', () => {
  let all = '';
  for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c);
  const value = { comm: '\x1b]0;t\x07', name: 'k\u009b2J\u202e', all, big: 2n ** 64n - 1n };
  for (const text of [jsonSafe(JSON.stringify({ ...value, big: 0 })), toJson(value), toJson(value, 2)]) {
    assert.doesNotMatch(text.replace(/\n/g, ''), CONTROL, 'nothing but the layout\'s newlines');
    const back = JSON.parse(text) as typeof value;
    assert.equal(back.comm, value.comm);
    assert.equal(back.name, value.name);
    assert.equal(back.all, all);
  }
  assert.match(toJson(value), /"big":18446744073709551615/);
});
