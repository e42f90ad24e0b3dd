import path from 'node:path';
import { type Command, Option } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { startOpeningDuckdb } from '../../offline/duckdb-session.ts';
import { startEntityPreload } from '../../offline/entity-preload.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { formatCount } from '../format-count.ts';
import { requireOut } from './training-set-output.ts';
import { buildAndRecord } from './training-set-recorded.ts';

export interface TrainingSetCliOptions {
  service?: string;
  features?: string[];
  entities: string;
  out?: string;
  replay?: string;
  snapshot?: string;
  dryRun?: boolean;
  fullFeatureNames?: boolean;
  timestampColumn: string;
  showSql?: boolean;
  bucket?: string;
  aggregations: 'auto' | 'range-join' | 'running-totals';
  onTransformError: 'fail' | 'null';
  json?: boolean;
}

/** As commander gives them: --entities is optional with --replay. */
export type RawOptions = Omit<TrainingSetCliOptions, 'entities'> & { entities?: string };

export function registerTrainingSet(program: Command): void {
  program
    .command('training-set')
    .description(
      'Build a point-in-time-correct training set: each entity row gets the feature values as of its timestamp',
    )
    .option('--service <name>', 'feature service whose features to fetch')
    .option('--features <refs...>', 'instead of a service: view:feature or view:* references')
    .option(
      '--entities <file>',
      'entity rows: join keys, a timestamp column, any labels (.csv, .parquet, .jsonl); with --replay, a copy of the manifest’s file',
    )
    .option(
      '--replay <manifest>',
      'rebuild the training set a .manifest.json describes (its request, entity file and data as of then) and check the output hash; exit 1 with a diff summary when it differs',
    )
    .option(
      '--snapshot <name>',
      'read the offline data as of a snapshot (fstore snapshot create; on AWS through Athena)',
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
    .action(async (given: RawOptions, command: Command) => {
      if (given.replay) {
        const ctx = CliContext.fromCommand(command);
        const { replayTrainingSet } = await import('./training-set-replay.ts');
        await replayTrainingSet(ctx, await ctx.compile(), given, fstoreVersion(command));
        return;
      }
      const { entities } = given;
      if (!entities)
        throw new UsageError(
          "required option '--entities <file>' not specified",
          'pass the entity rows (.csv, .parquet, .jsonl), or --replay <manifest>',
        );
      const options: TrainingSetCliOptions = { ...given, entities };
      if (!options.service === !options.features)
        throw new UsageError(
          'pass exactly one of --service and --features',
          'e.g. --service churn_v1, or --features customer_profile:age last_order:*',
        );
      const ctx = CliContext.fromCommand(command);
      // A local build's first step opens DuckDB and reads the entity rows: it starts while the
      // definitions load.
      const local = !options.dryRun && isLocalEnv(ctx.env);
      // Checked before the read starts, so a missing --out never exits while DuckDB reads.
      if (local) requireOut(options);
      const entityPreload = local ? startEntityPreload(options.entities) : undefined;
      if (local && !entityPreload) startOpeningDuckdb();
      // A command that fails first waits for the read: exiting while DuckDB runs a query can hang.
      const afterPreload = async (error: unknown) => {
        await entityPreload?.rawTypes.catch(() => undefined);
        throw error;
      };
      const registry = await ctx.compile().catch(afterPreload);
      // The dry run and the Athena path load the AWS SDK; a local training set does not need it.
      if (options.dryRun) {
        const { trainingSetDryRun } = await import('./training-set-dry-run.ts');
        await trainingSetDryRun(ctx, registry, options);
        return;
      }
      if (!isLocalEnv(ctx.env)) {
        const { athenaTrainingSet } = await import('./training-set-athena.ts');
        await athenaTrainingSet(ctx, registry, options, fstoreVersion(command));
        return;
      }
      const out = requireOut(options);
      const recorded = await buildAndRecord(
        ctx,
        registry,
        options,
        fstoreVersion(command),
        out,
        entityPreload,
      ).catch(afterPreload);
      const { result } = recorded;
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
          ...(recorded.manifest ? { manifest: path.resolve(recorded.manifest) } : {}),
          ...(options.snapshot ? { snapshot: options.snapshot } : {}),
          ...(options.showSql ? { sql: result.sql } : {}),
        });
        return;
      }
      if (options.showSql) ctx.out.line(result.sql);
      ctx.out.line(
        `${ctx.out.c.green('✔')} ${formatCount(result.rows)} rows × ${result.columns.length} columns → ${ctx.display(out)} in ${(result.elapsedMs / 1000).toFixed(2)} s`,
      );
      ctx.out.table(
        ['view', 'rows matched', 'match rate'],
        result.matchRates.map((m) => [
          m.view,
          formatCount(m.matched),
          `${(m.rate * 100).toFixed(1)}%`,
        ]),
      );
      if (recorded.manifest) ctx.out.line(`manifest → ${ctx.display(recorded.manifest)}`);
      for (const warning of [...result.warnings, ...recorded.warnings])
        ctx.out.status(`${ctx.out.c.yellow('warning:')} ${warning}`);
      if (result.transformErrors)
        ctx.out.status(
          `${ctx.out.c.yellow('warning:')} ${formatCount(result.transformErrors.rows)} rows have NULL on-demand features because their transform failed; the first: ${result.transformErrors.first ?? ''}`,
        );
    });
}

/** fstore's version, as `fstore --version` prints it. */
function fstoreVersion(command: Command): string {
  return command.parent?.version() ?? 'unknown';
}
