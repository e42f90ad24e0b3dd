// Merges StrykerJS incremental files (mutation-testing-report-schema) of runs made side by side
// on copies of the tree, one directory each, into the committed one:
//   npx tsx scripts/mutation-merge-incremental.ts <out.json> <base.json> <newer.json>...
// Two runs cannot share one incremental file: each writes it whole when it ends. A later file's
// results replace an earlier file's for the source files it mutated. Test and mutant ids are only
// unique within one report (Stryker numbers them from 0), so tests are matched by file, name and
// position and every id is renumbered; a mutant's coveredBy and killedBy follow its tests.
import { readFileSync, writeFileSync } from 'node:fs';

interface TestDefinition {
  id: string;
  readonly name: string;
  readonly location?: { readonly start: { readonly line: number; readonly column?: number } };
}
interface MutantResult {
  id: string;
  coveredBy?: string[];
  killedBy?: string[];
  readonly [key: string]: unknown;
}
interface IncrementalReport {
  readonly files: Record<string, { readonly source: string; mutants: MutantResult[] }>;
  readonly testFiles?: Record<string, { readonly source?: string; tests: TestDefinition[] }>;
  readonly [key: string]: unknown;
}

function readReport(file: string): IncrementalReport {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<IncrementalReport>;
  if (!parsed.files || typeof parsed.files !== 'object')
    throw new Error(`${file} is not a StrykerJS incremental file: it has no "files" object`);
  return parsed as IncrementalReport;
}

function testKey(file: string, test: TestDefinition): string {
  const start = test.location?.start;
  return `${file}\0${test.name}\0${start ? `${start.line}:${start.column ?? 0}` : ''}`;
}

export function mergeIncrementalReports(reports: readonly IncrementalReport[]): IncrementalReport {
  const [first] = reports;
  if (!first) throw new Error('mergeIncrementalReports needs at least one report');
  const testFiles: Record<string, { source?: string; tests: TestDefinition[] }> = {};
  const newIdByKey = new Map<string, string>();
  const files: IncrementalReport['files'] = {};
  let nextMutantId = 0;
  for (const report of reports) {
    const newIdOfOld = new Map<string, string>();
    for (const [file, testFile] of Object.entries(report.testFiles ?? {})) {
      // The newer copy of a test file wins (its source is what the next run diffs against).
      const merged = testFiles[file] ?? { tests: [] };
      if (testFile.source !== undefined) merged.source = testFile.source;
      testFiles[file] = merged;
      for (const test of testFile.tests) {
        const key = testKey(file, test);
        let id = newIdByKey.get(key);
        if (id === undefined) {
          id = String(newIdByKey.size);
          newIdByKey.set(key, id);
          merged.tests.push({ ...test, id });
        }
        newIdOfOld.set(test.id, id);
      }
    }
    const renumber = (ids: string[] | undefined, file: string) =>
      ids?.map((old) => {
        const id = newIdOfOld.get(old);
        if (id === undefined)
          throw new Error(`a mutant of ${file} names test id ${old}, which its report lacks`);
        return id;
      });
    for (const [file, result] of Object.entries(report.files)) {
      files[file] = {
        ...result,
        mutants: result.mutants.map((mutant) => ({
          ...mutant,
          id: String(nextMutantId++),
          coveredBy: renumber(mutant.coveredBy, file),
          killedBy: renumber(mutant.killedBy, file),
        })),
      };
    }
  }
  const last = reports[reports.length - 1] ?? first;
  return { ...last, files, testFiles };
}

const [out, ...inputs] = process.argv.slice(2);
if (import.meta.url === `file://${process.argv[1]}`) {
  if (!out || inputs.length === 0) {
    console.error(
      'usage: npx tsx scripts/mutation-merge-incremental.ts <out.json> <base.json> <newer.json>...',
    );
    process.exit(2);
  }
  const merged = mergeIncrementalReports(inputs.map(readReport));
  writeFileSync(out, `${JSON.stringify(merged, null, 2)}\n`);
  const mutants = Object.values(merged.files).reduce((n, f) => n + f.mutants.length, 0);
  console.log(`${out}: ${Object.keys(merged.files).length} files, ${mutants} mutants`);
}
