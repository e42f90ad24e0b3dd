import path from 'node:path';
import { type Command, Option } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { ingestFile } from '../../offline/ingest.ts';
import type { IngestTarget } from '../../offline/ingest-target.ts';
import { LocalIngestTarget } from '../../offline/ingest-target.ts';
import { awsRegion } from '../aws-region.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { InterruptedError } from '../shutdown.ts';
import { targetFileSizeOption } from './file-size-option.ts';
import { breakLockOption, checkBreakLock, lockWaitMs, lockWaitOption } from './s3-lock-options.ts';

interface IngestCliOptions {
  source: string;
  file: string;
  allowDuplicate?: boolean;
  allowViolations?: boolean;
  bucket?: string;
  json?: boolean;
  targetFileSize?: number;
  lockWait?: number;
  breakLock?: string;
}

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description(
      'Validate a CSV, Parquet or JSON-lines file against a source schema and add it to the offline store (all or nothing)',
    )
    .requiredOption('--source <name>', 'source the rows belong to')
    .requiredOption('--file <path>', 'a .csv (header row), .parquet or .jsonl file')
    .option('--allow-duplicate', 'ingest a file whose exact content was ingested before')
    .option('--json', 'print the ingest (id, rows, partitions, files, target) as JSON')
    .option(
      '--allow-violations',
      'keep rows that break feature constraints (materialization quarantines them)',
    )
    .addOption(targetFileSizeOption())
    .addOption(
      new Option(
        '--bucket <name>',
        'AWS environments: the offline bucket (stack output OfflineBucketName)',
      ).env('FSTORE_OFFLINE_BUCKET'),
    )
    .addOption(lockWaitOption())
    .addOption(breakLockOption())
    .action(async (options: IngestCliOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      checkBreakLock(options.breakLock, isLocalEnv(ctx.env));
      // SIGINT/SIGTERM from here on: the ingest stops before its commit point, nothing visible.
      const signal = ctx.shutdown.stopSignal();
      const registry = await ctx.compile();
      const target = await ingestTarget(ctx, options, signal);
      const started = performance.now();
      const stoppedBeforeCommit = (error: unknown) => {
        const by = ctx.shutdown.signal;
        if (!by || !signal.aborted || !(error instanceof InterruptedError)) throw error;
        throw new InterruptedError(
          by,
          `nothing was ingested into "${options.source}": the ingest stopped before its commit point and its files were removed`,
          `run the same \`fstore ingest --source ${options.source} --file ${options.file}${options.allowDuplicate ? ' --allow-duplicate' : ''}${options.allowViolations ? ' --allow-violations' : ''}\` again`,
        );
      };
      const result = await ingestFile({
        registry,
        dataDir: ctx.options.dataDir,
        env: ctx.env,
        source: options.source,
        file: options.file,
        target,
        ...(options.allowDuplicate ? { allowDuplicate: true } : {}),
        ...(options.allowViolations ? { allowConstraintViolations: true } : {}),
        ...(options.targetFileSize !== undefined
          ? { targetFileBytes: options.targetFileSize }
          : {}),
        signal,
        onPhase: (phase) => {
          if (phase === 'building running totals')
            ctx.out.status(`building running totals of "${options.source}" ...`);
          else if (phase === 'sorting')
            ctx.out.status(`writing the sorted copy of "${options.source}" for training sets ...`);
          else if (phase !== 'done') ctx.out.status(`${phase} ${ctx.display(options.file)} ...`);
        },
      }).catch(stoppedBeforeCommit);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (options.json)
        ctx.out.json({
          ingestId: result.ingestId,
          source: result.source,
          file: path.resolve(options.file),
          rows: result.rows,
          partitions: result.partitions,
          files: result.files,
          target: target.description,
          runningTotals: result.runningTotals,
          sortedCopyWritten: result.sortedCopyWritten,
          warnings: result.warnings,
          elapsedMs: Math.round(performance.now() - started),
        });
      else {
        ctx.out.line(
          `${ctx.out.c.green('✔')} ingested ${result.rows.toLocaleString('en-US')} rows into "${result.source}" (${result.partitions.length} day partitions, ${result.files.length} files) in ${seconds} s; ingest ${result.ingestId} → ${target.description}`,
        );
        for (const { view, build } of result.runningTotals)
          if (build)
            ctx.out.line(
              `  running totals of "${view}": ${build.kind === 'incremental' ? `incremental build (${build.incrementRows.toLocaleString('en-US')} rows rebuilt)` : `full build (${build.reason})`} in ${build.seconds.toFixed(1)} s`,
            );
        if (result.sortedCopyWritten)
          ctx.out.line(`  sorted copy of "${result.source}" written for training sets`);
        for (const warning of result.warnings) ctx.out.line(`${ctx.out.c.yellow('!')} ${warning}`);
      }
      if (ctx.shutdown.signal)
        throw new InterruptedError(
          ctx.shutdown.signal,
          `the stop came after the commit point: ingest ${result.ingestId} is stored whole (${result.rows.toLocaleString('en-US')} rows)`,
        );
    });
}

/** The local store, or the environment's bucket (only then are the AWS SDK and S3 code loaded). */
async function ingestTarget(
  ctx: CliContext,
  options: IngestCliOptions,
  signal: AbortSignal,
): Promise<IngestTarget> {
  if (isLocalEnv(ctx.env)) return new LocalIngestTarget(ctx.options.dataDir, ctx.env);
  if (!options.bucket) {
    throw new UsageError(
      `ingest into AWS environment "${ctx.env}" needs its offline bucket`,
      `pass --bucket <name> (the OfflineBucketName output of stack fstore-${ctx.env}) or set FSTORE_OFFLINE_BUCKET`,
    );
  }
  const [{ S3Client }, { S3IngestTarget }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('../../offline/s3-ingest-target.ts'),
  ]);
  // The commit waits for the source's S3 lock: a retention, delete or compaction holding it
  // finishes first, so this ingest's rows come wholly after it (issue 19).
  return new S3IngestTarget(
    new S3Client({ region: awsRegion(ctx.env) }),
    options.bucket,
    Date.now,
    {
      waitMs: lockWaitMs(options.lockWait),
      onWait: (message) => ctx.out.status(message),
      ...(options.breakLock !== undefined ? { breakOwner: options.breakLock } : {}),
      signal,
    },
  );
}
