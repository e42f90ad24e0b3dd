import { type Command, InvalidArgumentError, Option } from 'commander';
import { isLocalEnv, onlineLockPath } from '../../data-paths.ts';
import { type CompactResult, compactStore, selectedSources } from '../../offline/compact.ts';
import { defaultKeepReplacedMs, parseKeepDuration } from '../../offline/compact-replaced.ts';
import { describeBytes } from '../../offline/ingest-leftovers.ts';
import { defaultTargetFileBytes } from '../../offline/parquet-layout.ts';
import { acquireProcessLock } from '../../process-lock.ts';
import { compactPushLogs, type PushLogCompaction } from '../../push/compact-push-logs.ts';
import { pendingPushLogs } from '../../push/push-log.ts';
import { UsageError } from '../cli-error.ts';
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
  breakLock?: string;
}

export function registerCompact(program: Command): void {
  program
    .command('compact')
    .description(
      'Ingest the push logs waiting for the offline store (local), then merge the small files earlier ingests left in each dt partition into files of the target size (one commit; rows and results unchanged)',
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
    .option(
      '--break-lock <owner>',
      'AWS environments: take over a source’s compaction lock from this owner (named in the "already running" error) before its lease expires; only once that run is gone',
    )
    .action(async (options: CompactCliOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (options.breakLock !== undefined) refuseBreakLock(options, isLocalEnv(ctx.env));
      if (!isLocalEnv(ctx.env)) {
        const registry = await ctx.compile();
        await compactS3(ctx, registry, {
          sources: selectedSources(registry, options.source),
          targetFileBytes: options.targetFileSize ?? defaultTargetFileBytes,
          keepReplacedMs: options.keepReplaced ?? defaultKeepReplacedMs,
          ...(options.bucket ? { bucket: options.bucket } : {}),
          ...(options.breakLock ? { breakLock: options.breakLock } : {}),
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
      // Pushed rows first, so the merge below already packs them with the rest.
      const pushLogs = await ingestPushLogs(ctx, registry, {
        sources: selectedSources(registry, options.source),
        signal,
        dryRun: options.dryRun === true,
      }).catch(async (error: unknown) => {
        await readers?.release();
        const by = ctx.shutdown.signal;
        if (by && signal.aborted)
          throw new InterruptedError(
            by,
            'stopped while ingesting push logs: each log is ingested whole or not at all, the rest still wait',
            'run fstore compact again',
          );
        throw error;
      });
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
      if (options.json) ctx.out.json({ ...result, pushLogs, elapsedMs });
      else {
        printPushLogs(ctx, pushLogs);
        printSummary(ctx, result, elapsedMs);
      }
      if (pushLogs.some((p) => 'failed' in p && p.failed.length > 0)) process.exitCode = 1;
      if (ctx.shutdown.signal)
        throw new InterruptedError(
          ctx.shutdown.signal,
          `the stop came after the commit point: compaction ${result.compactionId ?? ''} is stored whole`,
        );
    });
}

/** `--break-lock` only where there is an S3 lock to break, and only with an owner's id. */
function refuseBreakLock(options: CompactCliOptions, local: boolean): void {
  if (local)
    throw new UsageError(
      '--break-lock applies to AWS environments (--env <aws>): the local store’s lock is a file taken over once its process is gone',
    );
  if (options.dryRun)
    throw new UsageError('--break-lock has no effect with --dry-run, which takes no lock');
  if (!/^([0-9a-f]{12}|unreadable)$/.test(options.breakLock ?? ''))
    throw new UsageError(
      `--break-lock must name the lock's owner as the "already running" error shows it (12 hex digits, or "unreadable"); got "${options.breakLock}"`,
    );
}

/**
 * Ingests the push logs waiting for the selected sources (docs/adr/0015-push.md); with
 * `dryRun` only counts them (as `waiting`).
 */
async function ingestPushLogs(
  ctx: CliContext,
  registry: Awaited<ReturnType<CliContext['compile']>>,
  options: { sources: readonly string[]; signal: AbortSignal; dryRun: boolean },
): Promise<(PushLogCompaction | { source: string; waiting: number })[]> {
  if (!options.dryRun)
    return compactPushLogs({
      registry,
      dataDir: ctx.options.dataDir,
      env: ctx.env,
      sources: options.sources,
      signal: options.signal,
    });
  const waiting = await Promise.all(
    options.sources.map(async (source) => ({
      source,
      waiting: (await pendingPushLogs(ctx.options.dataDir, ctx.env, source)).length,
    })),
  );
  return waiting.filter((w) => w.waiting > 0);
}

function printPushLogs(
  ctx: CliContext,
  pushLogs: readonly (PushLogCompaction | { source: string; waiting: number })[],
): void {
  for (const p of pushLogs) {
    if ('waiting' in p) {
      ctx.out.line(
        `  ${p.source}: ${plural(p.waiting, 'push log')} waiting (ingested by a run without --dry-run)`,
      );
      continue;
    }
    if (p.ingested > 0)
      ctx.out.line(
        `${ctx.out.c.green('✔')} ${p.source}: ${plural(p.ingested, 'push log')} ingested (${plural(p.rows, 'row')})`,
      );
    for (const f of p.failed)
      ctx.out.line(
        `${ctx.out.c.yellow('!')} a push log of ${p.source} was not ingested; moved to ${ctx.display(f.log)}:\n  ${f.reason.split('\n').join('\n  ')}`,
      );
  }
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
  if (result.sortedCopies && result.sortedCopies.length > 0)
    ctx.out.line(
      `${ctx.out.c.dim('·')} sorted copy of ${result.sortedCopies.map((s) => `"${s}"`).join(', ')} written for training sets`,
    );
  if (merged.length === 0) {
    ctx.out.line(
      `${ctx.out.c.green('✔')} nothing to compact: no partition has two or more files below ${target}`,
    );
    for (const warning of result.warnings) ctx.out.line(`${ctx.out.c.yellow('!')} ${warning}`);
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
