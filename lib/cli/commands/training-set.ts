import { rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { getTrainingSet } from '../../offline/training-set.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { InterruptedError } from '../shutdown.ts';
import { partialPath, requireOut } from './training-set-output.ts';

export interface TrainingSetCliOptions {
  service?: string;
  features?: string[];
  entities: string;
  out?: string;
  dryRun?: boolean;
  fullFeatureNames?: boolean;
  timestampColumn: string;
  showSql?: boolean;
  bucket?: string;
  aggregations: 'auto' | 'range-join' | 'running-totals';
  onTransformError: 'fail' | 'null';
  json?: boolean;
}

export function registerTrainingSet(program: Command): void {
  program
    .command('training-set')
    .description(
      'Build a point-in-time-correct training set: each entity row gets the feature values as of its timestamp',
    )
    .option('--service <name>', 'feature service whose features to fetch')
    .option('--features <refs...>', 'instead of a service: view:feature or view:* references')
    .requiredOption(
      '--entities <file>',
      'entity rows: join keys, a timestamp column, any labels (.csv, .parquet, .jsonl)',
    )
    .option('--out <file>', 'result file (.parquet or .csv); not needed with --dry-run')
    .option(
      '--dry-run',
      'write nothing and run no query: print the partitions and bytes it would read (AWS: from S3 object sizes, with Athena’s price as an estimate; local: the files)',
    )
    .option('--full-feature-names', 'name columns view__feature')
    .option('--timestamp-column <name>', 'entity timestamp column', 'event_timestamp')
    .option('--show-sql', 'print the generated SQL (with --json: as its "sql" field)')
    .option('--json', 'print rows, output path, strategy, per-view matches and warnings as JSON')
    .addOption(
      new Option(
        '--aggregations <how>',
        'local: how aggregation views are computed (auto uses running totals from 100,000 entity rows)',
      )
        .choices(['auto', 'range-join', 'running-totals'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--on-transform-error <what>',
        'local: an on-demand transform that throws or returns a wrong value stops the training set naming the entity row (fail), or gives that row NULL features (null)',
      )
        .choices(['fail', 'null'])
        .default('fail'),
    )
    .addOption(
      new Option(
        '--bucket <name>',
        'AWS environments: the offline bucket (stack output OfflineBucketName)',
      ).env('FSTORE_OFFLINE_BUCKET'),
    )
    .action(async (options: TrainingSetCliOptions, command: Command) => {
      if (!options.service === !options.features)
        throw new UsageError(
          'pass exactly one of --service and --features',
          'e.g. --service churn_v1, or --features customer_profile:age last_order:*',
        );
      const ctx = CliContext.fromCommand(command);
      const registry = await ctx.compile();
      // The dry run and the Athena path load the AWS SDK; a local training set does not need it.
      if (options.dryRun) {
        const { trainingSetDryRun } = await import('./training-set-dry-run.ts');
        await trainingSetDryRun(ctx, registry, options);
        return;
      }
      if (!isLocalEnv(ctx.env)) {
        const { athenaTrainingSet } = await import('./training-set-athena.ts');
        await athenaTrainingSet(ctx, registry, options);
        return;
      }
      // The result is written beside --out and renamed into place when complete. A signal stops
      // the DuckDB query (process.exit could not: its thread waits for this one to run our JS
      // functions) and removes the half-written file; a second one exits at once.
      const out = requireOut(options);
      const partial = partialPath(out);
      const signal = ctx.shutdown.stopSignal();
      const forget = ctx.shutdown.onExit(() => rmSync(partial, { force: true }));
      const building = getTrainingSet({
        registry,
        dataDir: ctx.options.dataDir,
        env: ctx.env,
        request: options.service
          ? { service: options.service }
          : { features: options.features ?? [] },
        entities: options.entities,
        entityTimestampColumn: options.timestampColumn,
        ...(options.fullFeatureNames ? { fullFeatureNames: true } : {}),
        out: partial,
        aggregations: options.aggregations,
        onTransformError: options.onTransformError,
        onPhase: (phase) => ctx.out.status(`${phase} ...`),
        signal,
      })
        .then(async (done) => {
          await rename(partial, out);
          return done;
        })
        .catch(async (error: unknown) => {
          await rm(partial, { force: true });
          if (signal.aborted && ctx.shutdown.signal)
            throw new InterruptedError(
              ctx.shutdown.signal,
              `stopped by ${ctx.shutdown.signal}: no training set was written to ${ctx.display(out)}`,
              'run the same command again',
            );
          throw error;
        })
        .finally(forget);
      const result = await ctx.shutdown.duringNativeCallbacks(building);
      if (options.json) {
        ctx.out.json({
          ...(options.service ? { service: options.service } : { features: options.features }),
          out: path.resolve(out),
          rows: result.rows,
          columns: result.columns,
          strategy: { aggregations: options.aggregations, runningTotals: result.runningTotals },
          views: result.matchRates.map((m) => ({
            view: m.view,
            matched: m.matched,
            entityRows: result.rows,
            rate: m.rate,
          })),
          warnings: result.warnings,
          ...(result.transformErrors ? { transformErrors: result.transformErrors } : {}),
          elapsedMs: Math.round(result.elapsedMs),
          ...(options.showSql ? { sql: result.sql } : {}),
        });
        return;
      }
      if (options.showSql) ctx.out.line(result.sql);
      ctx.out.line(
        `${ctx.out.c.green('✔')} ${result.rows.toLocaleString('en-US')} rows × ${result.columns.length} columns → ${ctx.display(out)} in ${(result.elapsedMs / 1000).toFixed(2)} s`,
      );
      ctx.out.table(
        ['view', 'rows matched', 'match rate'],
        result.matchRates.map((m) => [
          m.view,
          m.matched.toLocaleString('en-US'),
          `${(m.rate * 100).toFixed(1)}%`,
        ]),
      );
      for (const warning of result.warnings)
        ctx.out.status(`${ctx.out.c.yellow('warning:')} ${warning}`);
      if (result.transformErrors)
        ctx.out.status(
          `${ctx.out.c.yellow('warning:')} ${result.transformErrors.rows.toLocaleString('en-US')} rows have NULL on-demand features because their transform failed; the first: ${result.transformErrors.first ?? ''}`,
        );
    });
}
