import path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { demoDataDir } from '../../data-paths.ts';
import { type DemoFormat, demoFormats, startOfUtcDay, writeDemoData } from '../../demo/index.ts';
import { CliContext } from '../context.ts';
import { createProgress, type Progress } from '../progress.ts';

interface DemoDataOptions {
  customers: number;
  days: number;
  seed: number;
  end?: Date;
  out?: string;
  format: DemoFormat;
  json?: boolean;
}

export function positiveInteger(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1)
      throw new InvalidArgumentError(`${name} must be a positive whole number, got "${text}".`);
    return value;
  };
}

function integer(text: string): number {
  if (!/^-?\d+$/.test(text))
    throw new InvalidArgumentError(`seed must be a whole number, got "${text}".`);
  return Number(text);
}

function isoDate(text: string): Date {
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime()))
    throw new InvalidArgumentError(
      `end must be an ISO date such as 2026-01-31 or 2026-01-31T00:00:00Z, got "${text}".`,
    );
  return date;
}

export function registerDemoData(program: Command): void {
  program
    .command('demo-data')
    .description(
      'Write deterministic demo data for the churn example sources (one file per source)',
    )
    .option(
      '--customers <n>',
      'number of customers (ids C000001, C000002, ...)',
      positiveInteger('customers'),
      1000,
    )
    .option('--days <n>', 'days of history, ending at --end', positiveInteger('days'), 90)
    .option('--seed <n>', 'random seed; same seed and options give identical files', integer, 42)
    .option('--end <iso>', 'end of the data (exclusive); default: today 00:00 UTC', isoDate)
    .option('--out <dir>', 'output folder (default: <data-dir>/<env>/demo-data)')
    .option('--json', 'print the options used and the files written as JSON')
    .addOption(
      new Option('--format <format>', 'file format').choices(demoFormats).default('parquet'),
    )
    .action(async (options: DemoDataOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      const registry = await ctx.compile();
      const outDir = options.out ?? demoDataDir(ctx.options.dataDir, ctx.env);
      const end = options.end ?? startOfUtcDay(new Date());
      let progress: Progress | undefined;
      const started = Date.now();
      const summary = await writeDemoData({
        registry,
        outDir,
        format: options.format,
        customers: options.customers,
        days: options.days,
        seed: options.seed,
        end,
        onProgress: (done, total) => {
          progress ??= createProgress('customers', total);
          progress.update(done);
        },
      }).finally(() => progress?.stop());
      if (options.json) {
        ctx.out.json({
          outDir: path.resolve(outDir),
          format: options.format,
          customers: options.customers,
          days: options.days,
          seed: options.seed,
          end: end.toISOString(),
          files: summary.files.map((f) => ({ ...f, file: path.resolve(f.file) })),
        });
        return;
      }
      ctx.out.line(
        `Wrote demo data for ${options.customers} customers, ${options.days} days to ${end.toISOString()} (seed ${options.seed}) in ${((Date.now() - started) / 1000).toFixed(1)} s:`,
      );
      ctx.out.table(
        ['source', 'rows', 'file', 'size'],
        summary.files.map((f) => [
          f.source,
          f.rows.toLocaleString('en-US'),
          ctx.display(f.file),
          `${(f.bytes / 1024).toFixed(0)} KiB`,
        ]),
      );
    });
}
