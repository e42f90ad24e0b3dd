// Merges the in-process coverage of a vitest run with what its child processes recorded
// (see scripts/coverage.sh), writes the reports and prints coverage per lib/ directory.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import libCoverage, { type CoverageMapData } from 'istanbul-lib-coverage';
import { writeMergedReport } from './merged-report.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
// Optional arguments: the output folder, then the in-process map and the raw child coverage
// when they are elsewhere (to report on the children of a run that has not finished).
const [outputArg, inProcessArg, childRawArg] = process.argv.slice(2);
const coverageDir = path.resolve(outputArg ?? path.join(repoRoot, 'coverage'));
const inProcessFile = path.resolve(
  inProcessArg ?? path.join(coverageDir, 'in-process', 'coverage-final.json'),
);
const childRawDir = path.resolve(childRawArg ?? path.join(coverageDir, 'children-raw'));

await writeMergedReport({
  repoRoot,
  coverageDir,
  inProcess: libCoverage.createCoverageMap(
    JSON.parse(await readFile(inProcessFile, 'utf8')) as CoverageMapData,
  ),
  childRawDirs: [childRawDir],
});
