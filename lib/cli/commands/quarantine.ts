import path from 'node:path';
import type { Command } from 'commander';
import { isLocalEnv, quarantineDir } from '../../data-paths.ts';
import {
  localQuarantineFiles,
  s3QuarantineFiles,
  summarizeQuarantine,
} from '../../quality/quarantine-reader.ts';
import { s3Client } from '../aws-clients.ts';
import { awsRegion } from '../aws-region.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

export function registerQuarantine(program: Command): void {
  const quarantine = program
    .command('quarantine')
    .description('Inspect rows materialization kept out of the online store');
  quarantine
    .command('list')
    .description('Runs of a view that quarantined rows, with counts per broken rule and examples')
    .requiredOption('--view <name>', 'the feature view')
    .option('--examples <n>', 'example rows per run', (v) => Number(v), 3)
    .option(
      '--bucket <name>',
      'AWS environments: the offline bucket (stack output OfflineBucketName)',
      process.env.FSTORE_OFFLINE_BUCKET,
    )
    .option('--json', 'print JSON')
    .action(
      async (
        options: { view: string; examples: number; bucket?: string; json?: boolean },
        command: Command,
      ) => {
        const ctx = CliContext.fromCommand(command);
        const registry = await ctx.compile();
        if (!registry.featureViews.some((v) => v.name === options.view))
          throw new UsageError(
            `--view ${options.view} is not a feature view`,
            `views: ${registry.featureViews.map((v) => v.name).join(', ')}`,
          );
        let files: Awaited<ReturnType<typeof localQuarantineFiles>>;
        if (isLocalEnv(ctx.env)) {
          files = await localQuarantineFiles(
            path.join(quarantineDir(ctx.options.dataDir, ctx.env), options.view),
          );
        } else {
          if (!options.bucket)
            throw new UsageError(
              `quarantine list on AWS environment "${ctx.env}" needs its offline bucket`,
              `pass --bucket <name> (the OfflineBucketName output of stack fstore-${ctx.env}) or set FSTORE_OFFLINE_BUCKET`,
            );
          const region = awsRegion(ctx.env);
          files = await s3QuarantineFiles(
            await s3Client(region),
            options.bucket,
            'quarantine/',
            options.view,
          );
        }
        const runs = summarizeQuarantine(files, options.examples);
        if (options.json) {
          ctx.out.json(runs);
          return;
        }
        if (runs.length === 0) {
          ctx.out.line(`no quarantined rows for ${options.view}`);
          return;
        }
        ctx.out.table(
          ['run', 'rows', 'broken rules', 'where'],
          runs.map((r) => [
            r.runId,
            r.rows,
            Object.entries(r.rules)
              .map(([rule, n]) => `${rule}: ${n}`)
              .join('\n'),
            r.location.startsWith('s3://') ? r.location : ctx.display(r.location),
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
