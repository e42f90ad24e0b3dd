import path from 'node:path';
import type { Command } from 'commander';
import { isLocalEnv, quarantineDir } from '../../data-paths.ts';
import {
  localQuarantineFiles,
  s3QuarantineFiles,
  summarizeQuarantine,
} from '../../quality/quarantine-reader.ts';
import {
  localStreamQuarantineFiles,
  type StreamQuarantineRead,
  type StreamQuarantineSummary,
  s3StreamQuarantineFiles,
  summarizeStreamQuarantine,
} from '../../quality/stream-quarantine-reader.ts';
import { s3Client } from '../aws-clients.ts';
import { awsRegion } from '../aws-region.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

export function registerQuarantine(program: Command): void {
  const quarantine = program
    .command('quarantine')
    .description(
      'Inspect rows materialization kept out of the online store, and stream records the stream function refused',
    );
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
        for (const run of runs) reportDamaged(ctx, run.damaged);
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
  registerQuarantineStream(quarantine);
}

interface StreamOptions {
  source?: string;
  examples: number;
  bucket?: string;
  json?: boolean;
}

/** `fstore quarantine stream`: what a source's stream function quarantined (README, "Streams"). */
export function registerQuarantineStream(quarantine: Command): void {
  quarantine
    .command('stream')
    .description(
      "Stream records a source's stream function refused (not UTF-8, not JSON, a row a push refuses): counts per source and reason, and the newest records with where they are in the stream",
    )
    .option('--source <name>', 'one source (default every source)')
    .option('--examples <n>', 'newest records shown per source', (v) => Number(v), 3)
    .option(
      '--bucket <name>',
      'AWS environments: the offline bucket (stack output OfflineBucketName)',
      process.env.FSTORE_OFFLINE_BUCKET,
    )
    .option('--json', 'print JSON')
    .action(async (options: StreamOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!Number.isInteger(options.examples) || options.examples < 0)
        throw new UsageError(
          `--examples must be a whole number of records, 0 or more`,
          'e.g. --examples 5',
        );
      const registry = await ctx.compile();
      if (options.source !== undefined && !registry.sources.some((s) => s.name === options.source))
        throw new UsageError(
          `--source ${options.source} is not a source`,
          `sources: ${registry.sources.map((s) => s.name).join(', ')}`,
        );
      const summary = summarizeStreamQuarantine(
        await readStreamQuarantine(ctx, options),
        options.examples,
      );
      if (options.json) {
        ctx.out.json(summary);
        return;
      }
      reportDamaged(ctx, summary.damaged);
      printStreamQuarantine(ctx, summary);
    });
}

async function readStreamQuarantine(
  ctx: CliContext,
  options: StreamOptions,
): Promise<StreamQuarantineRead> {
  if (isLocalEnv(ctx.env))
    return localStreamQuarantineFiles(
      path.join(quarantineDir(ctx.options.dataDir, ctx.env), '_stream'),
      options.source,
    );
  if (!options.bucket)
    throw new UsageError(
      `quarantine stream on AWS environment "${ctx.env}" needs its offline bucket`,
      `pass --bucket <name> (the OfflineBucketName output of stack fstore-${ctx.env}) or set FSTORE_OFFLINE_BUCKET`,
    );
  return s3StreamQuarantineFiles(
    await s3Client(awsRegion(ctx.env)),
    options.bucket,
    options.source,
  );
}

function printStreamQuarantine(ctx: CliContext, summary: StreamQuarantineSummary): void {
  if (summary.sources.length === 0) {
    ctx.out.line('no quarantined stream records');
    return;
  }
  ctx.out.table(
    ['source', 'records', 'reasons', 'days', 'where'],
    summary.sources.map((s) => [
      s.source,
      s.records,
      Object.entries(s.reasons)
        .map(([reason, n]) => `${reason}: ${n}`)
        .join('\n'),
      s.days.length === 1 ? s.days[0] : `${s.days[0]} .. ${s.days.at(-1)} (${s.days.length} days)`,
      s.location.startsWith('s3://') ? s.location : ctx.display(s.location),
    ]),
  );
  for (const source of summary.sources)
    for (const example of source.examples) {
      const at = example.kinesis as { shardId?: string; sequenceNumber?: string } | undefined;
      const where = at ? `${at.shardId ?? '?'} ${at.sequenceNumber ?? '?'}` : '';
      ctx.out.line(
        `${source.source}  ${example.day}  ${where}  ${JSON.stringify(example.data)}  ← ${example.reason}`,
      );
    }
}

/** Damaged lines or objects: said on stderr, the readable records are still listed. */
function reportDamaged(
  ctx: CliContext,
  damaged: readonly { location: string; line?: number; problem: string }[],
): void {
  for (const d of damaged)
    ctx.out.status(
      `warning: damaged quarantine ${d.location.startsWith('s3://') ? d.location : ctx.display(d.location)}${d.line === undefined ? '' : ` line ${d.line}`}: ${d.problem} (skipped)`,
    );
}
