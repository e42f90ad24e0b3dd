import { type Command, InvalidArgumentError, Option } from 'commander';
import { isLocalEnv, onlineLockPath } from '../../data-paths.ts';
import { type CompactResult, compactStore, selectedSources } from '../../offline/compact.ts';
import { defaultKeepReplacedMs, parseKeepDuration } from '../../offline/compact-replaced.ts';
import { describeBytes } from '../../offline/ingest-leftovers.ts';
import { defaultTargetFileBytes } from '../../offline/parquet-layout.ts';
import { acquireProcessLock } from '../../process-lock.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { createProgress, type Progress } from '../progress.ts';
import { InterruptedError } from '../shutdown.ts';
import { compactS3 } from './compact-s3.ts';
import { targetFileSizeOption } from './file-size-option.ts';

interface CompactCliOptions {
  source?: string;
  json?: boolean;
  dryRun?: boolean;
  targetFileSize?: number;
  keepReplaced?: number;
  bucket?: string;
}

export function registerCompact(program: Command): void {
  program
    .command('compact')
    .description(
      'Merge the small files earlier ingests left in each dt partition of the offline store into files of the target size (one commit; rows and results unchanged)',
    )
    .option('--source <name>', 'compact one source (default: every source)')
    .option('--dry-run', 'show what would be merged; write nothing')
    .option('--json', 'print the compaction (files before/after per source) as JSON')
    .addOption(targetFileSizeOption())
    .addOption(keepReplacedOption())
    .addOption(
      new Option(
        '--bucket <name>',
        'AWS environments: the offline bucket (stack output OfflineBucketName)',
      ).env('FSTORE_OFFLINE_BUCKET'),
    )
    .action(async (options: CompactCliOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env)) {
        const registry = await ctx.compile();
        await compactS3(ctx, registry, {
          sources: selectedSources(registry, options.source),
          targetFileBytes: options.targetFileSize ?? defaultTargetFileBytes,
          keepReplacedMs: options.keepReplaced ?? defaultKeepReplacedMs,
          ...(options.bucket ? { bucket: options.bucket } : {}),
          ...(options.dryRun ? { dryRun: true } : {}),
          ...(options.json ? { json: true } : {}),
        });
        return;
      }
      // SIGINT/SIGTERM from here on: the compaction stops before its commit point.
      const signal = ctx.shutdown.stopSignal();
      const registry = await ctx.compile();
      // Readers take no lock, and the replaced files are deleted right after the commit: a
      // running server or materialization could plan a read of files that then vanish. They hold
      // the online store's lock, so holding it here keeps them out for the compaction.
      const readers = options.dryRun
        ? undefined
        : await acquireProcessLock(
            onlineLockPath(ctx.options.dataDir, ctx.env),
            `the local online store of env "${ctx.env}" (a running server or materialization reads the files compaction replaces)`,
          );
      const started = performance.now();
      let progress: Progress | undefined;
      const result = await compactStore({
        registry,
        dataDir: ctx.options.dataDir,
        env: ctx.env,
        signal,
        ...(options.source ? { source: options.source } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
        ...(options.targetFileSize !== undefined
          ? { targetFileBytes: options.targetFileSize }
          : {}),
        ...(options.keepReplaced !== undefined ? { keepReplacedMs: options.keepReplaced } : {}),
        onProgress: (done, total) => {
          if (options.json || options.dryRun || total === 0) return;
          progress ??= createProgress('merging partitions', total);
          progress.update(done);
        },
      })
        .catch((error: unknown) => {
          const by = ctx.shutdown.signal;
          if (by && signal.aborted)
            throw new InterruptedError(
              by,
              'nothing was compacted: the compaction stopped before its commit point and its files were removed',
              'run fstore compact again',
            );
          throw error;
        })
        .finally(async () => {
          progress?.stop();
          await readers?.release();
        });
      const elapsedMs = Math.round(performance.now() - started);
      if (options.json) ctx.out.json({ ...result, elapsedMs });
      else printSummary(ctx, result, elapsedMs);
      if (ctx.shutdown.signal)
        throw new InterruptedError(
          ctx.shutdown.signal,
          `the stop came after the commit point: compaction ${result.compactionId ?? ''} is stored whole`,
        );
    });
}

/** `--keep-replaced <duration>` (env FSTORE_COMPACT_KEEP_REPLACED), in milliseconds. */
function keepReplacedOption(): Option {
  return new Option(
    '--keep-replaced <duration>',
    `keep the replaced files this long after the commit, for training sets already reading them, e.g. 15m, 2h, 0 (default ${defaultKeepReplacedMs / 60_000}m); the next compact, ingest or doctor --fix after that deletes them`,
  )
    .env('FSTORE_COMPACT_KEEP_REPLACED')
    .argParser((text: string) => {
      try {
        return parseKeepDuration(text, '--keep-replaced');
      } catch (error) {
        throw new InvalidArgumentError((error as Error).message);
      }
    });
}

function printSummary(ctx: CliContext, result: CompactResult, elapsedMs: number): void {
  const merged = result.sources.filter((s) => s.partitions > 0);
  const target = describeBytes(result.targetFileBytes);
  if (result.leftoversRemoved > 0)
    ctx.out.line(
      `${ctx.out.c.dim('·')} removed ${plural(result.leftoversRemoved, 'leftover')} of interrupted ingests or compactions first`,
    );
  if (merged.length === 0) {
    ctx.out.line(
      `${ctx.out.c.green('✔')} nothing to compact: no partition has two or more files below ${target}`,
    );
    return;
  }
  for (const s of merged)
    ctx.out.line(
      `  ${s.source}: ${plural(s.partitions, 'partition')}, ${s.filesBefore.toLocaleString('en-US')} → ${result.dryRun ? 'at most ' : ''}${s.filesAfter.toLocaleString('en-US')} files (${describeBytes(s.bytesMerged)} merged${result.dryRun ? '' : ` into ${describeBytes(s.bytesWritten)}`})${s.runningTotals.length > 0 ? `; running totals of ${s.runningTotals.map((t) => `"${t.view}"`).join(', ')} rebuilt` : ''}`,
    );
  const seconds = (elapsedMs / 1000).toFixed(1);
  ctx.out.line(
    result.dryRun
      ? `${ctx.out.c.dim('·')} dry run: nothing written (target ${target}); run without --dry-run to compact`
      : `${ctx.out.c.green('✔')} compacted ${plural(merged.length, 'source')} in ${seconds} s; compaction ${result.compactionId}`,
  );
  if (result.replacedKeptUntil)
    ctx.out.line(
      `${ctx.out.c.dim('·')} the replaced files stay until ${result.replacedKeptUntil} for training sets already reading them; the next compact, ingest or doctor --fix after that deletes them`,
    );
  for (const warning of result.warnings) ctx.out.line(`${ctx.out.c.yellow('!')} ${warning}`);
}
