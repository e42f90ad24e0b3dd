import type { Command } from 'commander';
import { validateViewData } from '../../quality/validate-data.ts';
import { CliContext } from '../context.ts';
import { withOfflineEngine } from './offline-engine.ts';

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
        await withOfflineEngine(ctx, async ({ registry, query, dialect }) => {
          const report = await validateViewData({
            query,
            dialect,
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
        });
      },
    );
}
