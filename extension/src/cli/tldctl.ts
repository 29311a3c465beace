#!/usr/bin/env node
// tldctl: the TLD Studio client on the command line, for terminals and scripts. This file
// only dispatches: each command lives in commands/, with its help and its options.
import * as fs from 'node:fs';

import { TldError } from '../client/errors';
import { defaultPinPath } from '../client/paths';
import { printable } from '../client/printable';
import { KeyTypes, parseTypes } from '../client/values';
import { UsageError, parseArgs } from './args';
import { Command, out } from './command';
import { attachCommands } from './commands/attach';
import { buildCommands } from './commands/build';
import { helperCommand } from './commands/helper';
import { inspectCommands } from './commands/inspect';
import { vmCommands } from './commands/vm';

const COMMANDS: readonly Command[] = [...inspectCommands, ...attachCommands, ...buildCommands, ...vmCommands, helperCommand];

const GLOBAL_VALUED = ['pin', 'types'];
const GLOBAL_SWITCHES = ['json', 'help'];

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

async function run(argv: string[]): Promise<number> {
  // Parse with every option any command takes, then refuse those the chosen command does not.
  const p = parseArgs(
    argv,
    [...GLOBAL_VALUED, ...COMMANDS.flatMap((c) => c.valued ?? [])],
    [...GLOBAL_SWITCHES, ...COMMANDS.flatMap((c) => c.switches ?? [])],
  );
  const [name, ...rest] = p.positionals;
  const cmd = COMMANDS.find((c) => c.name === name);
  if (p.switches.has('help') || !name) {
    out(cmd?.help ?? MAIN_HELP);
    return name || p.switches.has('help') ? 0 : 2;
  }
  if (!cmd) throw new UsageError(`unknown command '${name}'`);
  for (const o of p.options.keys()) {
    if (!GLOBAL_VALUED.includes(o) && !(cmd.valued ?? []).includes(o)) throw new UsageError(`${name} takes no ${o === 'include' ? '-I' : `--${o}`}`);
  }
  for (const s of p.switches) {
    if (!GLOBAL_SWITCHES.includes(s) && !(cmd.switches ?? []).includes(s)) throw new UsageError(`${name} takes no --${s}`);
  }
  const globals = { pin: p.options.get('pin') ?? defaultPinPath(), types: loadTypes(p.options.get('types')), json: p.switches.has('json') };
  return cmd.run(p, rest, globals);
}

run(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    if (e instanceof UsageError) {
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
