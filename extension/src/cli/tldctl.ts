#!/usr/bin/env node
// tldctl: the TLD Studio client on the command line, for terminals and scripts. This file
// only dispatches: each command lives in commands/, with its help and its options.
import './compileCache';
import * as fs from 'node:fs';

import { TldError } from '../client/errors';
import { defaultPinPath } from '../client/paths';
import { printable } from '../client/printable';
import { KeyTypes, parseTypes } from '../client/values';
import { Options, UsageError, parseArgs } from './args';
import { Command, GLOBAL_OPTIONS, out } from './command';
import { attachCommands } from './commands/attach';
import { buildCommands } from './commands/build';
import { helperCommand } from './commands/helper';
import { inspectCommands } from './commands/inspect';
import { traceCommands } from './commands/trace';
import { vmCommands } from './commands/vm';

const COMMANDS: readonly Command[] = [...inspectCommands, ...traceCommands, ...attachCommands, ...buildCommands, ...vmCommands, helperCommand];

const MAIN_HELP = `Usage: tldctl [--pin PATH] COMMAND [ARGS]

Inspect and change BPF task local data hints of live processes.

Commands:
${COMMANDS.flatMap((c) => c.summary.map((l) => `  ${l}`)).join('\n')}

Options:
  --pin PATH    the pinned map (default $TLD_PIN_DIR/tld_data_map, /sys/fs/bpf/tld)
  --types FILE  key types as JSON, e.g. {"sched.weight": "i32", "req": {"fields": [...]}}
  --help        help for a command: tldctl COMMAND --help`;

function loadTypes(file: string | undefined): KeyTypes {
  if (!file) return new Map();
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TldError('EINVAL', `cannot read key types from ${file}: ${(e as Error).message}`);
  }
  return parseTypes(json);
}

/** Every option of every command, to find the command's name wherever options stand. */
const ALL_OPTIONS: Options = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {}));

/** For an option @cmd does not take: the commands that take it, for the message. */
function notTaken(cmd: Command, option: string): string | undefined {
  const name = option.replace(/^-+/, '');
  const owners = COMMANDS.filter((c) => Object.entries(c.options ?? {}).some(([long, o]) => long === name || o.short === name));
  return owners.length ? `${cmd.name} takes no ${option} (${owners.map((c) => c.name).join(', ')} ${owners.length > 1 ? 'do' : 'does'})` : undefined;
}

async function run(argv: string[]): Promise<number> {
  // The command is the first word that is neither an option nor an option's value.
  const name = parseArgs(argv, ALL_OPTIONS, () => undefined).positionals[0];
  const cmd = COMMANDS.find((c) => c.name === name);
  if (name !== undefined && !cmd && !argv.includes('--help')) throw new UsageError(`unknown command '${name}'`);
  // Then with exactly the options this command declares, besides the global ones.
  const p = parseArgs(argv, cmd ? { ...GLOBAL_OPTIONS, ...cmd.options } : GLOBAL_OPTIONS, (o) => (cmd ? notTaken(cmd, o) : undefined));
  if (p.switches.has('help') || !cmd) {
    out(cmd?.help ?? MAIN_HELP);
    return cmd || p.switches.has('help') ? 0 : 2;
  }
  const globals = { pin: p.options.get('pin') ?? defaultPinPath(), types: loadTypes(p.options.get('types')), json: p.switches.has('json') };
  return cmd.run(p, p.positionals.slice(1), globals);
}

// A reader that stops reading (tldctl watch | head) ends the output, not with a stack trace:
// tldctl ends as a C tool ends on SIGPIPE, quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});

run(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    if ((e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') {
      // A write the reader did not take (see the handler above): the same quiet end.
      process.exitCode = 0;
    } else if (e instanceof UsageError) {
      process.stderr.write(`tldctl: ${printable(e.message, { lines: true })}\n(see tldctl --help)\n`);
      process.exitCode = 2;
    } else if (e instanceof TldError) {
      process.stderr.write(`tldctl: ${printable(e.message, { lines: true })}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`tldctl: unexpected failure: ${printable(e instanceof Error ? e.message : String(e), { lines: true })}\n`);
      process.exitCode = 1;
    }
  },
);
