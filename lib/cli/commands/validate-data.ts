import type { Command } from 'commander';
import { isLocalEnv } from '../../local/data-paths.ts';
import { openDuckdb } from '../../offline/duckdb-session.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import { validateViewData } from '../../quality/validate-data.ts';
import { duckdbDialect } from '../../sql/duckdb-dialect.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

export function registerValidateData(program: Command): void {
  program
    .command('validate-data')
    .description(
      'Check a view’s data-quality rules over its offline data; exit code 1 when any fails (for CI)',
    )
    .requiredOption('--view <name>', 'the feature view')
    .option('--start <iso>', 'only rows with event time at or after this instant')
    .option('--end <iso>', 'only rows with event time at or before this instant')
    .option('--json', 'print JSON')
    .action(
      async (
        options: { view: string; start?: string; end?: string; json?: boolean },
        command: Command,
      ) => {
        const ctx = CliContext.fromCommand(command);
        if (!isLocalEnv(ctx.env))
          throw new UsageError(
            `validate-data runs on the local engine; "${ctx.env}" is on AWS`,
            'use --env local (Athena support is not there yet)',
          );
        const registry = await ctx.compile();
        const session = await openDuckdb();
        try {
          const report = await validateViewData({
            connection: session.connection,
            dialect: duckdbDialect(offlineRoot(ctx.options.dataDir, ctx.env)),
            registry,
            view: options.view,
            ...(options.start ? { start: options.start } : {}),
            ...(options.end ? { end: options.end } : {}),
          });
          if (options.json) ctx.out.json(report);
          else {
            const { c } = ctx.out;
            ctx.out.table(
              ['rule', 'feature', 'violations', 'result', 'detail / examples'],
              report.results.map((r) => [
                r.rule,
                r.feature ?? '',
                r.violations,
                r.passed ? c.green('pass') : c.red('FAIL'),
                r.detail ?? r.examples.map((e) => JSON.stringify(e)).join('\n'),
              ]),
            );
            ctx.out.line(
              `${report.passed ? c.green('✔ passed') : c.red('✖ failed')}: ${report.results.filter((r) => !r.passed).length} of ${report.results.length} rules failed over ${report.rows} rows of ${report.view}`,
            );
          }
          if (!report.passed) process.exitCode = 1;
        } finally {
          session.close();
        }
      },
    );
}
