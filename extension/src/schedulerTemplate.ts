// New Scheduler from Template: the example scheduler (bpf/schedulers/scx_hints.bpf.c) renamed
// for a new scheduler, its operations, struct_ops map and sched_ext name taken from the user's name.

/** The example's prefix of every operation (hints_enqueue...) and of its ops map (hints_ops). */
const TEMPLATE_PREFIX = 'hints';
/** The example's sched_ext name, `.name = "tld_hints"`. */
const TEMPLATE_OPS_NAME = /(\.name\s*=\s*)"tld_hints"/;
const TEMPLATE_TITLE = /^( \* )scx_hints: /m;

/** sched_ext's limit on an ops name (SCX_OPS_NAME_LEN), its NUL included. */
const OPS_NAME_MAX = 127;

const C_KEYWORDS = new Set([
  'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double', 'else', 'enum', 'extern', 'float', 'for',
  'goto', 'if', 'inline', 'int', 'long', 'register', 'restrict', 'return', 'short', 'signed', 'sizeof', 'static', 'struct',
  'switch', 'typedef', 'union', 'unsigned', 'void', 'volatile', 'while', 'bool', 'true', 'false',
]);

/** Why @name cannot name a scheduler, or undefined when it can (a C identifier, not a keyword). */
export function schedulerNameProblem(name: string): string | undefined {
  if (name === '') return 'give the scheduler a name, for example scx_mine';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    return `'${name}' is not a C identifier: use letters, digits and _, not starting with a digit`;
  }
  if (C_KEYWORDS.has(name)) return `'${name}' is a C keyword`;
  if (name.length > OPS_NAME_MAX) return `'${name}' is longer than sched_ext's ${OPS_NAME_MAX} characters for a scheduler name`;
  return undefined;
}

/** The source file a scheduler named @name lives in. */
export const schedulerFileName = (name: string): string => `${name}.bpf.c`;

/**
 * The example's source made into scheduler @name: hints_* operations and hints_ops become
 * NAME_*, the sched_ext name becomes NAME, the header comment says where it came from.
 * Throws when @template is not the example it expects (its ops map or name is missing).
 */
export function renameScheduler(template: string, name: string): string {
  const problem = schedulerNameProblem(name);
  if (problem) throw new Error(problem);
  if (!new RegExp(`\\b${TEMPLATE_PREFIX}_ops\\b`).test(template) || !TEMPLATE_OPS_NAME.test(template)) {
    throw new Error(`the template is not the example scheduler (no ${TEMPLATE_PREFIX}_ops with .name = "tld_hints")`);
  }
  // An operation prefix equal to the name would make NAME_NAME_ops on a second pass: one pass only.
  return template
    .replace(new RegExp(`\\b${TEMPLATE_PREFIX}_(?=[A-Za-z0-9_])`, 'g'), `${name}_`)
    .replace(TEMPLATE_OPS_NAME, `$1"${name}"`)
    .replace(TEMPLATE_TITLE, `$1${name} (made from TLD Studio's example scx_hints): `);
}
