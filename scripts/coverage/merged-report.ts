// Adds the counts of child processes onto an in-process coverage map, writes the reports and
// prints coverage per lib/ directory, in-process only and with the children.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import libCoverage, {
  type CoverageMap,
  type CoverageMapData,
  type CoverageSummary,
} from 'istanbul-lib-coverage';
import libReport from 'istanbul-lib-report';
import reports from 'istanbul-reports';
import { formatSummaryTable, summariseByDirectory } from './directory-summary.ts';
import { addChildCounts } from './project-child-coverage.ts';
import { readChildCoverage } from './read-child-coverage.ts';

export interface MergedReportInput {
  repoRoot: string;
  /** Where coverage-final.json, coverage.txt and the HTML report are written. */
  coverageDir: string;
  inProcess: CoverageMap;
  childRawDirs: readonly string[];
  /** The sources measured, whose files child processes ran: lib/ unless given. */
  sourceRoot?: string;
  /** Leave out raw files that are not valid JSON (a shard still running) instead of failing. */
  skipUnreadable?: boolean;
}

export async function writeMergedReport(input: MergedReportInput): Promise<void> {
  const { repoRoot, coverageDir, inProcess } = input;
  const libRoot = input.sourceRoot ?? path.join(repoRoot, 'lib');
  const inProcessByDirectory = withTotal(summariseByDirectory(inProcess, libRoot));
  const children = await readChildCoverage(input.childRawDirs, libRoot, {
    skipUnreadable: input.skipUnreadable ?? false,
  });

  // A copy through JSON: each file's toJSON gives its plain data, which the counts are added to.
  const merged = libCoverage.createCoverageMap(
    JSON.parse(JSON.stringify(inProcess.toJSON())) as CoverageMapData,
  );
  let staleForms = 0;
  const notInMap: string[] = [];
  for (const [file, forms] of children.scripts) {
    if (!merged.files().includes(file)) {
      notInMap.push(path.relative(repoRoot, file));
      continue;
    }
    const sourceText = await readFile(file, 'utf8');
    staleForms += addChildCounts(merged.fileCoverageFor(file).data, sourceText, forms).staleForms;
  }

  await mkdir(coverageDir, { recursive: true });
  await writeFile(path.join(coverageDir, 'coverage-final.json'), JSON.stringify(merged.toJSON()));
  const context = libReport.createContext({
    dir: coverageDir,
    coverageMap: merged,
    defaultSummarizer: 'nested',
  });
  for (const reporter of ['html', 'json-summary'] as const)
    reports.create(reporter).execute(context);
  reports.create('text', { file: 'coverage.txt' }).execute(context);

  const processes = new Set([...children.scripts.values()].flat().map((form) => form.processes));
  console.log(
    `child processes: ${children.rawFiles} raw V8 coverage files, ${children.scripts.size} lib files run in them` +
      ` (up to ${Math.max(0, ...processes)} processes per file)`,
  );
  if (children.scriptsWithoutSourceMap > 0)
    console.log(
      `warning: ${children.scriptsWithoutSourceMap} lib scripts had no source map and were left out`,
    );
  if (children.unreadableFiles.length > 0)
    console.log(
      `warning: ${children.unreadableFiles.length} raw V8 coverage files were not valid JSON (a process killed while writing it, or a shard still running) and were left out`,
    );
  if (staleForms > 0)
    console.log(
      `warning: ${staleForms} compiled forms embed a source that differs from the file on disk (edited during the run?) and were left out`,
    );
  if (notInMap.length > 0)
    console.log(
      `warning: run by children but missing from the in-process map, left out: ${notInMap.join(', ')}`,
    );
  console.log('\nin-process only (what `vitest --coverage` alone reports):');
  console.log(formatSummaryTable(inProcessByDirectory));
  console.log('\nin-process and child processes:');
  console.log(formatSummaryTable(withTotal(summariseByDirectory(merged, libRoot))));
  console.log(
    `\nper file: ${path.join(coverageDir, 'coverage.txt')}; browsable: ${path.join(coverageDir, 'index.html')}`,
  );
}

function withTotal(byDirectory: Map<string, CoverageSummary>): Map<string, CoverageSummary> {
  const total = libCoverage.createCoverageSummary();
  for (const summary of byDirectory.values()) total.merge(summary);
  byDirectory.set('all of lib', total);
  return byDirectory;
}
