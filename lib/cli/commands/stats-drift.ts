import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { envDataDir } from '../../data-paths.ts';
import { viewDrift } from '../../quality/drift.ts';
import { driftReportHtml } from '../../quality/drift-report.ts';
import { viewStatistics } from '../../quality/feature-stats.ts';
import { parseRange } from '../../quality/source-rows.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { withOfflineEngine } from './offline-engine.ts';

const number = (value: unknown) =>
  typeof value === 'number'
    ? Number.isInteger(value)
      ? String(value)
      : value.toPrecision(4)
    : value === null || value === undefined
      ? ''
      : String(value);

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('Statistics of a view’s features over its offline data, computed by the engine')
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
          const stats = await viewStatistics({
            query,
            dialect,
            registry,
            view: options.view,
            range: {
              ...(options.start ? { start: options.start } : {}),
              ...(options.end ? { end: options.end } : {}),
            },
          });
          if (options.json) {
            ctx.out.json(stats);
            return;
          }
          ctx.out.line(`${stats.view}: ${stats.rows.toLocaleString('en-US')} rows`);
          ctx.out.table(
            [
              'feature',
              'type',
              'count',
              'null %',
              'distinct',
              'min',
              'max',
              'mean',
              'stddev',
              'p05 / p50 / p95',
              'top values',
            ],
            stats.features.map((f) => [
              f.feature,
              f.type,
              f.count,
              f.nullPercent.toFixed(1),
              f.distinct,
              number(f.min),
              number(f.max),
              number(f.mean),
              number(f.stddev),
              f.quantiles
                ? [f.quantiles.p05, f.quantiles.p50, f.quantiles.p95].map(number).join(' / ')
                : '',
              f.top ? f.top.map((t) => `${String(t.value)} (${t.count})`).join(', ') : '',
            ]),
          );
        });
      },
    );
}

export function registerDrift(program: Command): void {
  program
    .command('drift')
    .description(
      'PSI per feature between two event-time ranges; writes an HTML report with histograms',
    )
    .requiredOption('--view <name>', 'the feature view')
    .requiredOption(
      '--baseline <range>',
      'baseline event-time range, start..end (e.g. 2026-01-01..2026-01-31)',
    )
    .requiredOption('--current <range>', 'current event-time range, start..end')
    .option('--threshold <psi>', 'PSI above which a feature has drifted', (v) => Number(v), 0.2)
    .option(
      '--report <file>',
      'HTML report file (default: <data-dir>/<env>/reports/drift-<view>.html)',
    )
    .option('--json', 'print JSON')
    .action(
      async (
        options: {
          view: string;
          baseline: string;
          current: string;
          threshold: number;
          report?: string;
          json?: boolean;
        },
        command: Command,
      ) => {
        const ctx = CliContext.fromCommand(command);
        if (!Number.isFinite(options.threshold) || options.threshold <= 0)
          throw new UsageError('--threshold must be a positive number', 'e.g. --threshold 0.2');
        const baseline = parseRange(options.baseline, '--baseline');
        const current = parseRange(options.current, '--current');
        await withOfflineEngine(ctx, async ({ registry, query, dialect }) => {
          const report = await viewDrift({
            query,
            dialect,
            registry,
            view: options.view,
            baseline,
            current,
            threshold: options.threshold,
          });
          const reportFile =
            options.report ??
            path.join(
              envDataDir(ctx.options.dataDir, ctx.env),
              'reports',
              `drift-${options.view}.html`,
            );
          await mkdir(path.dirname(path.resolve(reportFile)), { recursive: true });
          await writeFile(reportFile, driftReportHtml(report));
          if (options.json) {
            ctx.out.json({ ...report, reportFile: path.resolve(reportFile) });
            return;
          }
          const { c } = ctx.out;
          ctx.out.table(
            ['feature', 'kind', 'PSI', 'result'],
            report.features.map((f) => [
              f.feature,
              f.kind,
              f.psi.toFixed(4),
              f.drifted ? c.red('drifted') : c.green('stable'),
            ]),
          );
          ctx.out.line(
            `${report.features.filter((f) => f.drifted).length} of ${report.features.length} features drifted (PSI > ${report.threshold}); report: ${ctx.display(reportFile)}`,
          );
        });
      },
    );
}
