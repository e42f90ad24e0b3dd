// `npm run test:coverage:report` (scripts/coverage.sh --report): adds up the shards in
// coverage/shards/ (in-process maps by counts, every shard's child processes), names the shards
// missing or unfinished, and writes the report into coverage/merged/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeInProcessMaps } from './merge-in-process.ts';
import { writeMergedReport } from './merged-report.ts';
import { describeShards, findShards } from './shard-folders.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const shardsRoot = path.resolve(process.argv[2] ?? path.join(repoRoot, 'coverage', 'shards'));
const coverageDir = path.resolve(process.argv[3] ?? path.join(shardsRoot, '..', 'merged'));
// A third argument replaces lib/ as the sources measured (the tests use a folder of their own).
const sourceRoot = path.resolve(process.argv[4] ?? path.join(repoRoot, 'lib'));

try {
  const shards = await findShards(shardsRoot);
  for (const line of describeShards(shards)) console.log(line);
  if (shards.finished.length === 0) {
    throw new Error(`no shard in ${shardsRoot} has finished: nothing to report yet`);
  }
  const inProcess = await mergeInProcessMaps(
    shards.finished.flatMap((shard) => (shard.inProcessMap ? [shard.inProcessMap] : [])),
  );
  if (inProcess.differingFiles.length > 0)
    console.log(
      `warning: mapped differently by two shards (edited between them?), merged by location: ${inProcess.differingFiles.map((file) => path.relative(repoRoot, file)).join(', ')}`,
    );
  await writeMergedReport({
    repoRoot,
    coverageDir,
    sourceRoot,
    inProcess: inProcess.map,
    childRawDirs: [...shards.finished, ...shards.unfinished].flatMap((shard) =>
      shard.childRawDir ? [shard.childRawDir] : [],
    ),
    // A shard still running may be writing a process's file as the report reads it, and a
    // crash test's SIGKILL can cut a process off in its coverage write (an empty file was seen
    // in a finished shard): such files are left out and counted in a warning.
    skipUnreadable: true,
  });
  const incomplete = shards.unfinished.length + shards.missing.length;
  if (incomplete > 0) {
    console.log(`\npartial: ${incomplete} of ${shards.count} shards not finished (see above)`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
