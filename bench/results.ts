// The document npm run bench writes, section by section, and npm run bench:readme reads; and
// the loop that runs the sections into it.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { repoRoot } from '../test/support/repo';
import { Figure } from './figure';

/** Where the results go unless --out says otherwise. */
export const DEFAULT_RESULTS = path.join(repoRoot, 'out', 'bench', 'results.json');

export type SectionResult =
  | { readonly ok: true; readonly seconds: number; readonly raw: unknown; readonly figures: Figure[] }
  | { readonly ok: false; readonly seconds: number; readonly error: string };

export interface BenchResults {
  readonly kernel: string;
  readonly cpus: number;
  readonly cpu: string;
  readonly quick: boolean;
  readonly started: string;
  finished: string | null;
  /** The 1-minute load average at the start and at the end: the machine is shared. */
  readonly load_average_start: number;
  load_average_end: number | null;
  /** Measured once, when scripts/libbpf.sh built the cached libbpf (download, unpack, compile). */
  readonly libbpf: { version: string; source: string; build_seconds: number | null } | null;
  readonly sections: Record<string, SectionResult>;
  /** Every figure of the sections that completed, in order. */
  figures: Figure[];
  /** The sections that failed, by name (their errors are in sections). */
  failed: string[];
  goals_missed: number;
  all_goals_met: boolean;
}

/** Writes @doc whole, through a rename: a reader never sees half a document. */
export function save(file: string, doc: BenchResults): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(doc, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}

/** The results in @file; throws naming the file when it is missing or not a results document. */
export function readResults(file: string): BenchResults {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read bench results from ${file} (run npm run bench first): ${(e as Error).message}`);
  }
  const d = doc as Partial<BenchResults>;
  if (typeof d !== 'object' || d === null || !Array.isArray(d.figures) || typeof d.sections !== 'object' || !Array.isArray(d.failed)) {
    throw new Error(`${file} is not a results document of npm run bench`);
  }
  return doc as BenchResults;
}

/** A section of the run: its raw measurements and the figures made of them. */
export interface Section {
  readonly name: string;
  run(quick: boolean): Promise<{ raw: unknown; figures: Figure[] }>;
}

/**
 * Runs @sections in order into @doc, saving it to @opts.out after each: a section that throws
 * is recorded with its error and the next one runs. Returns how many failed.
 */
export async function runSections(sections: readonly Section[], doc: BenchResults, opts: { quick: boolean; out: string; log: (line: string) => void }): Promise<number> {
  let failed = 0;
  for (const s of sections) {
    const t0 = Date.now();
    const seconds = () => Math.round((Date.now() - t0) / 100) / 10;
    try {
      const r = await s.run(opts.quick);
      doc.sections[s.name] = { ok: true, seconds: seconds(), raw: r.raw, figures: r.figures };
      doc.figures.push(...r.figures);
      opts.log(`${s.name} done in ${seconds()} s: ${r.figures.length} figures, ${r.figures.filter((f) => !f.met).length} goal(s) missed`);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      doc.sections[s.name] = { ok: false, seconds: seconds(), error };
      doc.failed.push(s.name);
      failed++;
      opts.log(`${s.name} FAILED after ${seconds()} s: ${error}`);
    }
    doc.goals_missed = doc.figures.filter((f) => !f.met).length;
    doc.all_goals_met = doc.failed.length === 0 && doc.goals_missed === 0;
    save(opts.out, doc);
  }
  return failed;
}
