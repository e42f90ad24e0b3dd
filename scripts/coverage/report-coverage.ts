// Merges the in-process coverage of a vitest run with what its child processes recorded
// (see scripts/coverage.sh), writes the reports and prints coverage per lib/ directory.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import libCoverage, { type CoverageMapData, type CoverageSummary } from 'istanbul-lib-coverage';
import libReport from 'istanbul-lib-report';
import reports from 'istanbul-reports';
import { formatSummaryTable, summariseByDirectory } from './directory-summary.ts';
import { addChildCounts } from './project-child-coverage.ts';
import { readChildCoverage } from './read-child-coverage.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const libRoot = path.join(repoRoot, 'lib');
// Optional arguments: the output folder, then the in-process map and the raw child coverage
// when they are elsewhere (to report on the children of a run that has not finished).
const [outputArg, inProcessArg, childRawArg] = process.argv.slice(2);
const coverageDir = path.resolve(outputArg ?? path.join(repoRoot, 'coverage'));
const inProcessFile = path.resolve(
  inProcessArg ?? path.join(coverageDir, 'in-process', 'coverage-final.json'),
);
const childRawDir = path.resolve(childRawArg ?? path.join(coverageDir, 'children-raw'));

const inProcess = libCoverage.createCoverageMap(
  JSON.parse(await readFile(inProcessFile, 'utf8')) as CoverageMapData,
);
const inProcessByDirectory = summariseByDirectory(inProcess, libRoot);
const children = await readChildCoverage(childRawDir, libRoot);

const merged = libCoverage.createCoverageMap(
  JSON.parse(await readFile(inProcessFile, 'utf8')) as CoverageMapData,
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
for (const reporter of ['html', 'json-summary'] as const) reports.create(reporter).execute(context);
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
const total = libCoverage.createCoverageSummary();
const byDirectory: Map<string, CoverageSummary> = summariseByDirectory(merged, libRoot);
for (const summary of byDirectory.values()) total.merge(summary);
byDirectory.set('all of lib', total);
console.log(formatSummaryTable(byDirectory));
console.log(
  `\nper file: ${path.join(coverageDir, 'coverage.txt')}; browsable: ${path.join(coverageDir, 'index.html')}`,
);
