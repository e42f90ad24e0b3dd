import type { Command } from 'commander';
import { isLocalEnv } from '../../local/data-paths.ts';
import { getTrainingSet } from '../../offline/training-set.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

interface TrainingSetCliOptions {
  service?: string;
  features?: string[];
  entities: string;
  out: string;
  fullFeatureNames?: boolean;
  timestampColumn: string;
  showSql?: boolean;
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
    .requiredOption('--out <file>', 'result file (.parquet or .csv)')
    .option('--full-feature-names', 'name columns view__feature')
    .option('--timestamp-column <name>', 'entity timestamp column', 'event_timestamp')
    .option('--show-sql', 'print the generated SQL')
    .action(async (options: TrainingSetCliOptions, command: Command) => {
      if (!options.service === !options.features)
        throw new UsageError(
          'pass exactly one of --service and --features',
          'e.g. --service churn_v1, or --features customer_profile:age last_order:*',
        );
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env)) {
        throw new UsageError(
          `training sets for AWS environment "${ctx.env}" are not available from the CLI yet`,
          'use --env local, or query Athena directly',
        );
      }
      const registry = await ctx.compile();
      const result = await getTrainingSet({
        registry,
        dataDir: ctx.options.dataDir,
        env: ctx.env,
        request: options.service
          ? { service: options.service }
          : { features: options.features ?? [] },
        entities: options.entities,
        entityTimestampColumn: options.timestampColumn,
        ...(options.fullFeatureNames ? { fullFeatureNames: true } : {}),
        out: options.out,
        onPhase: (phase) => ctx.out.status(`${phase} ...`),
      });
      if (options.showSql) ctx.out.line(result.sql);
      ctx.out.line(
        `${ctx.out.c.green('✔')} ${result.rows.toLocaleString('en-US')} rows × ${result.columns.length} columns → ${ctx.display(options.out)} in ${(result.elapsedMs / 1000).toFixed(2)} s`,
      );
      ctx.out.table(
        ['view', 'rows matched', 'match rate'],
        result.matchRates.map((m) => [
          m.view,
          m.matched.toLocaleString('en-US'),
          `${(m.rate * 100).toFixed(1)}%`,
        ]),
      );
    });
}
