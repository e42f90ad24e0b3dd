// A StrykerJS reporter that appends each mutant no test killed to reports/mutation/survivors.jsonl
// the moment it is tested: Stryker writes its own reports only at the end of a run, which on the
// shared 2-core machine is hours away, and the survivors are what the next test should kill.
// Every tested mutant also goes to reports/mutation/results.jsonl (file, line, status), so a run
// stopped before its end still gives per-file scores: scripts/mutation-summary.ts reads either.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { declareClassPlugin, PluginKind } from '@stryker-mutator/api/plugin';

const logFile = path.resolve('reports/mutation/survivors.jsonl');
const resultsFile = path.resolve('reports/mutation/results.jsonl');
const notKilled = new Set(['Survived', 'NoCoverage']);

class SurvivorLogReporter {
  onDryRunCompleted() {
    mkdirSync(path.dirname(logFile), { recursive: true });
    writeFileSync(logFile, '');
    writeFileSync(resultsFile, '');
  }

  onMutantTested(result) {
    const { line, column } = result.location.start;
    const file = path.relative(process.cwd(), result.fileName);
    appendFileSync(
      resultsFile,
      `${JSON.stringify({ file, line, column, id: result.id, mutator: result.mutatorName, replacement: result.replacement, status: result.status, static: result.static ?? false })}\n`,
    );
    if (!notKilled.has(result.status)) return;
    const entry = {
      status: result.status,
      file,
      line,
      column,
      id: result.id,
      mutator: result.mutatorName,
      replacement: result.replacement,
      static: result.static ?? false,
      coveredBy: result.coveredBy?.length ?? 0,
    };
    appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
  }
}

export const strykerPlugins = [
  declareClassPlugin(PluginKind.Reporter, 'survivor-log', SurvivorLogReporter),
];
