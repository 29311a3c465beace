// npm run bench:readme: writes the README's table of benchmark figures from npm run bench's
// results, every figure with its goal, misses and sections that failed included, between the
// README's bench-table markers.
//
//   node out/bench/readme.js [RESULTS.json] [--check]   (--check: exit 1 when the README differs)
import * as fs from 'node:fs';
import * as path from 'node:path';

import { repoRoot } from '../test/support/repo';
import { Figure, shortNumber } from './figure';
import { BenchResults, DEFAULT_RESULTS, readResults } from './results';

export const BEGIN = '<!-- bench-table: made by npm run bench:readme from the results of npm run bench; edits here are lost -->';
export const END = '<!-- /bench-table -->';

/** @v @unit in a unit a reader takes in at a glance (ns as µs or ms, bytes as KB or MB). */
export function quantity(v: number, unit: string): string {
  if (unit === 'ns' && Math.abs(v) >= 1e6) return `${shortNumber(v / 1e6)} ms`;
  if (unit === 'ns' && Math.abs(v) >= 1e3) return `${shortNumber(v / 1e3)} µs`;
  if (unit === 'ms' && Math.abs(v) >= 1e4) return `${shortNumber(v / 1e3)} s`;
  if (unit === 'bytes' && Math.abs(v) >= 1e6) return `${shortNumber(v / 1e6)} MB`;
  if (unit === 'bytes' && Math.abs(v) >= 1e3) return `${shortNumber(v / 1e3)} KB`;
  if (unit === 'us') return `${shortNumber(v)} µs`;
  return `${shortNumber(v)} ${unit}`;
}

/** A table cell: no line breaks, and a | is not a column. */
const cell = (s: string) => s.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');

function row(f: Figure): string {
  const value = quantity(f.value, f.unit) + (f.note ? ` (${f.note})` : '');
  const against = f.against ? `${f.against.name}: ${quantity(f.against.value, f.against.unit)}, ${shortNumber(f.against.ratio)}x` : '';
  return `| ${cell(f.name)} | ${cell(value)} | ${cell(against)} | ${cell(f.goal)} | ${f.met ? 'met' : '**missed**'} |`;
}

/** The README's block: a line on the run, then one row per figure and per failed section. */
export function benchTable(r: BenchResults): string {
  const day = r.started.slice(0, 10);
  const load = r.load_average_end === null ? `${r.load_average_start}` : `${r.load_average_start} at the start, ${r.load_average_end} at the end`;
  const lines = [
    BEGIN,
    `From \`npm run bench${r.quick ? ' -- --quick' : ''}\` on ${day}: Linux ${r.kernel}, ${r.cpus} × ${r.cpu}, load average ${load}. ` +
      'The machine is shared and busy: absolute times are noisy; what counts are the ratios to floors measured in the same run. ' +
      `${r.figures.length} figures, ${r.goals_missed} goal(s) missed` +
      (r.failed.length ? `, ${r.failed.length} section(s) failed (${r.failed.join(', ')})` : '') + '.',
    '',
    '| what | figure | against, in the same run | goal | goal met |',
    '| --- | --- | --- | --- | --- |',
    ...r.figures.map(row),
    ...Object.entries(r.sections).flatMap(([name, s]) =>
      s.ok ? [] : [`| section \`${name}\` | did not complete: ${cell(s.error.split('\n')[0] ?? '').slice(0, 300)} | | | **failed** |`],
    ),
    END,
  ];
  return lines.join('\n');
}

/** @readme with its block between the markers replaced by @table; throws when the markers are missing. */
export function withTable(readme: string, table: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`the README has no bench-table markers (${BEGIN} ... ${END})`);
  return readme.slice(0, begin) + table + readme.slice(end + END.length);
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const file = argv.find((a) => !a.startsWith('--')) ?? DEFAULT_RESULTS;
  const readmePath = path.join(repoRoot, 'README.md');
  const readme = fs.readFileSync(readmePath, 'utf8');
  const next = withTable(readme, benchTable(readResults(file)));
  if (check) {
    if (next === readme) return 0;
    process.stderr.write(`bench:readme: README.md's figures are not those of ${file}\n`);
    return 1;
  }
  fs.writeFileSync(readmePath, next);
  process.stderr.write(`bench:readme: README.md's table from ${file}\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench:readme: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
