// Where a BPF C file's programs start: the lines of its SEC("...") annotations, for code lenses.

/** The 0-based line of the first SEC("...") that starts a line (blank lines before it are not it); undefined when none. */
export function firstSecLine(text: string): number | undefined {
  // [ \t]*, not \s*: \s would let the match start on an empty line above the SEC( line.
  const m = /^[ \t]*SEC\(\s*"/m.exec(text);
  if (!m) return undefined;
  let line = 0;
  for (let i = 0; i < m.index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Whether @text is a sched_ext scheduler: struct_ops programs and a sched_ext_ops. */
export function isSchedExtScheduler(text: string): boolean {
  return /SEC\("\.?struct_ops/.test(text) && /sched_ext_ops/.test(text);
}
