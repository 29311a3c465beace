// Text from a target process (key names, comms) made safe to show: control characters escaped.
//
// A target chooses its thread names and key names. Printed raw, `ESC ] 0;…` sets the terminal's
// title, `ESC [ 2J` clears it, a C1 CSI (U+009B) does the same on terminals that read C1, and
// bidirectional overrides make a name read as another. Every name that comes from a target goes
// through printable() before a person sees it (tldctl's text and errors, the extension's views);
// JSON output keeps the exact string, written with \u escapes for the characters JSON.stringify
// leaves raw (DEL, C1, bidirectional controls), so a terminal never sees them either.

/** C0, DEL, C1, and the Unicode line separators and bidirectional controls. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same less C0: JSON.stringify escapes C0 in strings, and C0 outside them is layout. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * @s with every control character shown as an escape (`\x1b`, `\x9b`, `\u202e`), so the result
 * holds no character a terminal or a label acts on. Applying it twice changes nothing more (a
 * message built from escaped names can go through it again). With `lines`, newlines are kept.
 */
export function printable(s: string, opts: { readonly lines?: boolean } = {}): string {
  if (opts.lines) return s.split('\n').map((line) => printable(line)).join('\n');
  return s.replace(UNSAFE, escapeChar);
}

/**
 * JSON text (from JSON.stringify) with the characters it leaves raw (DEL, C1, the line separators,
 * bidirectional controls) written as \u escapes: the same value to a parser, nothing for a
 * terminal to act on. Such characters can only be inside strings, where the escape means them.
 */
export function jsonSafe(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
