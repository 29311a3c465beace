// What every tldctl command is: its help, its options, and how it runs; and what they share.
import { TldClient } from '../client/client';
import { KeyTypes } from '../client/values';
import { Parsed } from './args';

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
  /** Options that take a value (repeatable ones are read from Parsed.lists). */
  readonly valued?: readonly string[];
  readonly switches?: readonly string[];
  /** @rest: the positionals after the command's name. Returns the exit code. */
  run(p: Parsed, rest: readonly string[], g: Globals): Promise<number>;
}

export const out = (s: string): void => {
  process.stdout.write(s + '\n');
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function withClient<T>(pin: string, fn: (c: TldClient) => Promise<T>): Promise<T> {
  const client = await TldClient.create({ pinPath: pin });
  try {
    return await fn(client);
  } finally {
    client.dispose();
  }
}
