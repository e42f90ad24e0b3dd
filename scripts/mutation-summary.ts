// Per-directory mutation scores and the surviving mutants of a StrykerJS JSON report
// (mutation-testing-report-schema), for docs/testing.md:
//   npx tsx scripts/mutation-summary.ts [reports/mutation/mutation.json] [--files] [--survivors]
// It also reads reports/mutation/results.jsonl (test/mutation/survivor-log-reporter.mjs: one line
// per tested mutant, written as the run goes), for a run stopped before Stryker wrote its report
// (the default when there is no mutation.json yet); the last line of a mutant wins, and survivors'
// source lines come from the files in the current directory (run it in the run's copy).
// --files: one row per file as well as per directory.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ReportMutant {
  readonly id: string;
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly status: string;
  readonly static?: boolean;
  readonly location: { readonly start: { readonly line: number; readonly column: number } };
}

interface Report {
  readonly files: Record<string, { readonly source: string; readonly mutants: ReportMutant[] }>;
}

const statuses = [
  'Killed',
  'Survived',
  'NoCoverage',
  'Timeout',
  'CompileError',
  'RuntimeError',
  'Ignored',
  'Pending',
] as const;

interface ResultLine {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly id: string;
  readonly mutator: string;
  readonly replacement?: string;
  readonly status: string;
  readonly static?: boolean;
}

function reportOfResultLines(file: string, text: string): Report {
  const byMutant = new Map<string, ResultLine>();
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let entry: ResultLine;
    try {
      entry = JSON.parse(line) as ResultLine;
    } catch (error) {
      throw new Error(`${file}:${index + 1} is not a JSON line`, { cause: error });
    }
    if (typeof entry.file !== 'string' || typeof entry.status !== 'string')
      throw new Error(`${file}:${index + 1} lacks "file" or "status": ${line.slice(0, 120)}`);
    byMutant.set(`${entry.file}:${entry.id}`, entry);
  });
  const files: Record<string, { source: string; mutants: ReportMutant[] }> = {};
  for (const entry of byMutant.values()) {
    // The mutated file as it is in the directory the run was made in (for --survivors lines).
    const fileResult = files[entry.file] ?? {
      source: existsSync(entry.file) ? readFileSync(entry.file, 'utf8') : '',
      mutants: [],
    };
    files[entry.file] = fileResult;
    fileResult.mutants.push({
      id: entry.id,
      mutatorName: entry.mutator,
      status: entry.status,
      location: { start: { line: entry.line, column: entry.column } },
      ...(entry.replacement !== undefined ? { replacement: entry.replacement } : {}),
      ...(entry.static !== undefined ? { static: entry.static } : {}),
    });
  }
  return { files };
}

function readReport(file: string): Report {
  if (file.endsWith('.jsonl')) return reportOfResultLines(file, readFileSync(file, 'utf8'));
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Report>;
  if (!parsed.files || typeof parsed.files !== 'object')
    throw new Error(`${file} is not a StrykerJS JSON report: it has no "files" object`);
  return parsed as Report;
}

/** Killed and timed-out mutants over those that were tested or not covered (Stryker's score). */
function score(counts: Record<string, number>): string {
  const detected = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
  const valid = detected + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
  return valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(1)} %`;
}

function summarize(report: Report, perFile: boolean): string[] {
  const byDirectory = new Map<string, Record<string, number>>();
  const files = Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b));
  for (const [file, { mutants }] of files) {
    for (const key of [...(perFile ? [file] : []), path.dirname(file), 'all']) {
      const counts = byDirectory.get(key) ?? {};
      for (const mutant of mutants) counts[mutant.status] = (counts[mutant.status] ?? 0) + 1;
      byDirectory.set(key, counts);
    }
  }
  const shown = statuses.filter((s) => [...byDirectory.values()].some((c) => (c[s] ?? 0) > 0));
  return [
    `| directory | score | ${shown.join(' | ')} |`,
    `|---|---|${shown.map(() => '---|').join('')}`,
    ...[...byDirectory].map(
      ([directory, counts]) =>
        `| ${directory} | ${score(counts)} | ${shown.map((s) => counts[s] ?? 0).join(' | ')} |`,
    ),
  ];
}

function survivors(report: Report): string[] {
  return Object.entries(report.files).flatMap(([file, { source, mutants }]) => {
    const lines = source.split('\n');
    return mutants
      .filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')
      .map((m) => {
        const { line, column } = m.location.start;
        const code = (lines[line - 1] ?? '').trim().slice(0, 100);
        const replacement = (m.replacement ?? '').replaceAll('\n', ' ').slice(0, 80);
        return `${m.status} ${file}:${line}:${column} #${m.id} ${m.mutatorName}${m.static ? ' (static)' : ''} -> ${replacement}\n    ${code}`;
      });
  });
}

const args = process.argv.slice(2);
// A run stopped before its end has no mutation.json yet, only the reporter's results.jsonl.
const file =
  args.find((a) => !a.startsWith('--')) ??
  (existsSync('reports/mutation/mutation.json')
    ? 'reports/mutation/mutation.json'
    : 'reports/mutation/results.jsonl');
const report = readReport(file);
console.log(summarize(report, args.includes('--files')).join('\n'));
if (args.includes('--survivors')) console.log(`\n${survivors(report).join('\n')}`);
