import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { isLocalEnv, quarantineDir } from '../../local/data-paths.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

interface QuarantinedLine {
  readonly view: string;
  readonly runId: string;
  readonly reasons: readonly string[];
  readonly row: Record<string, unknown>;
}

export interface QuarantineRun {
  readonly runId: string;
  readonly file: string;
  readonly rows: number;
  /** Broken rule → how many rows broke it, e.g. `score above max 100` → 3. */
  readonly rules: Readonly<Record<string, number>>;
  readonly examples: readonly QuarantinedLine[];
}

export function registerQuarantine(program: Command): void {
  const quarantine = program
    .command('quarantine')
    .description('Inspect rows materialization kept out of the online store');
  quarantine
    .command('list')
    .description('Runs of a view that quarantined rows, with counts per broken rule and examples')
    .requiredOption('--view <name>', 'the feature view')
    .option('--examples <n>', 'example rows per run', (v) => Number(v), 3)
    .option('--json', 'print JSON')
    .action(
      async (options: { view: string; examples: number; json?: boolean }, command: Command) => {
        const ctx = CliContext.fromCommand(command);
        if (!isLocalEnv(ctx.env))
          throw new UsageError(
            `quarantine list reads local environments; on AWS ("${ctx.env}") the rows are under s3://<offline bucket>/quarantine/${options.view}/`,
            `aws s3 ls --recursive s3://<offline bucket>/quarantine/${options.view}/`,
          );
        const registry = await ctx.compile();
        if (!registry.featureViews.some((v) => v.name === options.view))
          throw new UsageError(
            `--view ${options.view} is not a feature view`,
            `views: ${registry.featureViews.map((v) => v.name).join(', ')}`,
          );
        const runs = await quarantinedRuns(
          path.join(quarantineDir(ctx.options.dataDir, ctx.env), options.view),
          options.examples,
        );
        if (options.json) {
          ctx.out.json(runs);
          return;
        }
        if (runs.length === 0) {
          ctx.out.line(`no quarantined rows for ${options.view}`);
          return;
        }
        ctx.out.table(
          ['run', 'rows', 'broken rules', 'file'],
          runs.map((r) => [
            r.runId,
            r.rows,
            Object.entries(r.rules)
              .map(([rule, n]) => `${rule}: ${n}`)
              .join('\n'),
            ctx.display(r.file),
          ]),
        );
        for (const run of runs)
          for (const example of run.examples)
            ctx.out.line(
              `${run.runId}  ${JSON.stringify(example.row)}  ← ${example.reasons.join('; ')}`,
            );
      },
    );
}

/** The quarantine files of one view, newest run first. */
export async function quarantinedRuns(dir: string, examples: number): Promise<QuarantineRun[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) =>
    f.endsWith('.jsonl'),
  );
  const runs: (QuarantineRun & { modified: number })[] = [];
  for (const name of files) {
    const file = path.join(dir, name);
    const lines = (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as QuarantinedLine);
    const rules: Record<string, number> = {};
    for (const line of lines)
      for (const reason of line.reasons) {
        const rule = ruleOf(reason);
        rules[rule] = (rules[rule] ?? 0) + 1;
      }
    runs.push({
      runId: name.slice(0, -'.jsonl'.length),
      file,
      rows: lines.length,
      rules,
      examples: lines.slice(0, examples),
      modified: (await stat(file)).mtimeMs,
    });
  }
  return runs.sort((a, b) => b.modified - a.modified).map(({ modified: _m, ...run }) => run);
}

/** `score = 101 is above max 100` → `score above max 100`: the rule without the value. */
function ruleOf(reason: string): string {
  return reason.replace(/ = .*? is /, ' ').replace(/ = .*? is not one of /, ' not one of ');
}
