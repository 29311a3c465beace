// What every tldctl command is: its help, its options, and how it runs; and what they share.
// Only types come from the client here: tldctl loads a command's modules when it runs that
// command, so that it starts without the client, koffi or protobufjs it may not need.
import type { ClientOptions, TldClient } from '../client/client';
import type { KeyTypes } from '../client/values';
import { Options, Parsed } from './args';

/** Options every command takes. */
export interface Globals {
  readonly pin: string;
  readonly types: KeyTypes;
  readonly json: boolean;
}

export interface Command {
  readonly name: string;
  /** Lines of the main help's command list, e.g. `ps [--json]    processes that use ...`. */
  readonly summary: readonly string[];
  /** `tldctl NAME --help`. */
  readonly help: string;
  /** The options this command takes besides the global ones (repeatable ones are read from Parsed.lists). */
  readonly options?: Options;
  /** @rest: the positionals after the command's name. Returns the exit code. */
  run(p: Parsed, rest: readonly string[], g: Globals): Promise<number>;
}

/** Options every command takes, before or after its name. */
export const GLOBAL_OPTIONS: Options = {
  pin: { type: 'string' },
  types: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
};

/** The build options of the commands that compile BPF (compile, load, vm run's scheduler). */
export const BUILD_OPTIONS: Options = {
  include: { type: 'string', multiple: true, short: 'I' },
  cflag: { type: 'string', multiple: true },
};

export const out = (s: string): void => {
  process.stdout.write(s + '\n');
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs @fn with a client, disposed after: how a command reaches the helper it reads through. */
export type ClientOpener = <T>(fn: (c: TldClient) => Promise<T>) => Promise<T>;

export async function withClient<T>(pin: string, fn: (c: TldClient) => Promise<T>, opts: Omit<ClientOptions, 'pinPath'> = {}): Promise<T> {
  const { TldClient } = await import('../client/client');
  // tldctl waits for each call anyway: in-process calls run in its own thread (ClientOptions.inThread).
  const client = await TldClient.create({ inThread: true, ...opts, pinPath: pin });
  try {
    return await fn(client);
  } finally {
    client.dispose();
  }
}
