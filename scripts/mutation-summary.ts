// Per-directory mutation scores and the surviving mutants of a StrykerJS JSON report
// (mutation-testing-report-schema), for docs/testing.md:
//   npx tsx scripts/mutation-summary.ts [reports/mutation/mutation.json] [--survivors]
import { readFileSync } from 'node:fs';
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

function readReport(file: string): Report {
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

function summarize(report: Report): string[] {
  const byDirectory = new Map<string, Record<string, number>>();
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const key of [path.dirname(file), 'all']) {
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
const file = args.find((a) => !a.startsWith('--')) ?? 'reports/mutation/mutation.json';
const report = readReport(file);
console.log(summarize(report).join('\n'));
if (args.includes('--survivors')) console.log(`\n${survivors(report).join('\n')}`);
