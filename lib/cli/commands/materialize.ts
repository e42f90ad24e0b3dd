import { type Command, InvalidArgumentError } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { localViewNames, materializeLocal } from '../../local/materialize-local.ts';
import type { MaterializeViewResult } from '../../materialize/materialize-view.ts';
import { maxShards, parseShardCount, ShardCountError } from '../../materialize/shard-plan.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { createProgress, type Progress } from '../progress.ts';
import { InterruptedError, type StopSignal } from '../shutdown.ts';
import { positiveIntegerOrZero } from './parse-options.ts';
import { formatLag } from './status.ts';

interface MaterializeOptions {
  view?: string[];
  start?: string;
  end?: string;
  lateness: number;
  concurrency: number;
  shards: number;
  chunkRows: number;
  json?: boolean;
}

export function registerMaterialize(program: Command): void {
  program
    .command('materialize')
    .description(
      'Write the newest offline row per entity of online views to the online store: the rows ingested since each view’s last run (all of them on its first run), or a backfill of --start/--end',
    )
    .option('--view <names...>', 'only these views (default: every online view)')
    .option('--start <iso>', 'backfill event times from this instant (inclusive)')
    .option('--end <iso>', 'backfill event times up to this instant (inclusive; default now)')
    .option(
      '--lateness <seconds>',
      'for a store without commit records (_ingests.jsonl) only: look this far before the watermark again for late rows',
      positiveIntegerOrZero('lateness'),
      3600,
    )
    .option('--concurrency <n>', 'writes in flight', positiveIntegerOrZero('concurrency'), 16)
    .option(
      '--shards <n>',
      `split each view's run by a hash of the entity key into n shards written concurrently, each with its own checkpoint (1 to ${maxShards}; a stopped run resumes with the count it started with)`,
      shardCountOption,
      1,
    )
    .option(
      '--chunk-rows <n>',
      'rows written between checkpoints (where a stopped run resumes)',
      positiveIntegerOrZero('chunk-rows'),
      2000,
    )
    .option('--json', 'print the run results as JSON')
    .action(async (options: MaterializeOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      // SIGINT/SIGTERM from here on stop the run at its next checkpoint and release its lease.
      const signal = ctx.shutdown.stopSignal();
      if (!isLocalEnv(ctx.env))
        throw new UsageError(
          `materialize runs local environments from the CLI; on AWS ("${ctx.env}") the scheduled Lambda does it`,
          'use --env local, or invoke the fstore-<env>-materialize function with {"view": "<name>"}',
        );
      const registry = await ctx.compile();
      const online = registry.featureViews.filter((v) => v.online).map((v) => v.name);
      for (const name of options.view ?? [])
        if (!online.includes(name))
          throw new UsageError(
            `--view ${name} is not an online feature view`,
            `online views: ${online.join(', ') || 'none'}`,
          );
      const range =
        options.start || options.end
          ? {
              ...(options.start ? { start: options.start } : {}),
              ...(options.end ? { end: options.end } : {}),
            }
          : undefined;
      const store = await openLocalOnlineStore(ctx.options.dataDir, ctx.env, { attach: true });
      let progress: Progress | undefined;
      let label = '';
      try {
        const started = performance.now();
        const results = await materializeLocal({
          registry,
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          client: store.client,
          table: store.table,
          allowedLatenessSeconds: options.lateness,
          concurrency: Math.max(1, options.concurrency),
          shards: options.shards,
          chunkRows: Math.max(1, options.chunkRows),
          signal,
          ...(options.view ? { views: options.view } : {}),
          ...(range ? { range } : {}),
          onView: (view) => {
            label = view;
          },
          onPushLogs: (c) => {
            if (c.ingested > 0)
              ctx.out.status(
                `push logs of ${c.source}: ${plural(c.ingested, 'log')} (${plural(c.rows, 'row')}) ingested into the offline store first`,
              );
            for (const f of c.failed)
              ctx.out.status(
                `a push log of ${c.source} was not ingested; moved to ${ctx.display(f.log)} (fstore doctor lists it)`,
              );
          },
          onStart: (info) => {
            // Counts of a resumed run include the rows read before its checkpoint.
            const total = info.alreadyRead + (info.total ?? 0);
            progress = options.json || !info.total ? undefined : createProgress(label, total);
          },
          onProgress: (counts) => progress?.update(counts.rowsRead),
        });
        progress?.stop();
        const stoppedBy = ctx.shutdown.signal;
        if (options.json) ctx.out.json(results);
        else if (results.length > 0) printSummary(ctx, results);
        if (stoppedBy) {
          const again = `fstore materialize${options.view ? ` --view ${options.view.join(' ')}` : ''}`;
          throw interruptedMaterialization(
            stoppedBy,
            results,
            localViewNames({ registry, ...(options.view ? { views: options.view } : {}) }),
            range
              ? `run the same backfill again (\`${again}${options.start ? ` --start ${options.start}` : ''}${options.end ? ` --end ${options.end}` : ''}\`) to resume it; a backfill without --end starts over`
              : `run \`${again}\` to resume`,
          );
        }
        if (options.json) return;
        ctx.out.line(
          `${ctx.out.c.green('✔')} materialized ${results.length} view(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
        for (const r of results)
          if (
            r.scope?.kind === 'incremental' &&
            r.scope.newIngests === 0 &&
            r.counts.rowsRead === 0
          )
            ctx.out.line(
              `${ctx.out.c.dim('·')} ${r.view}: nothing new since the last run; no writes`,
            );
        for (const r of results)
          for (const issue of r.qualityIssues ?? [])
            ctx.out.line(`${ctx.out.c.yellow('!')} ${r.view}: quality rule broken: ${issue}`);
        for (const r of results.filter((r) => r.quarantine))
          ctx.out.line(
            `${ctx.out.c.yellow('!')} ${r.view}: ${r.counts.rejected} row(s) broke constraints and were quarantined in ${ctx.display(r.quarantine as string)}`,
          );
      } finally {
        progress?.stop();
        await store.close();
      }
    });
}

/**
 * What a stopped materialization kept: finished views, where the stopped one checkpointed (its
 * lease is released, the next run resumes there), which views were not started.
 */
export function interruptedMaterialization(
  signal: StopSignal,
  results: readonly MaterializeViewResult[],
  views: readonly string[],
  resume: string,
): InterruptedError {
  const count = (n: number) => n.toLocaleString('en-US');
  const parts: string[] = [];
  const finished = results.filter((r) => r.status === 'succeeded');
  if (finished.length > 0)
    parts.push(
      `finished: ${finished.map((r) => `${r.view} (${count(r.counts.written)} written)`).join(', ')}`,
    );
  for (const r of results.filter((r) => r.status === 'paused'))
    parts.push(
      r.shards
        ? `${r.view} checkpointed in each of its ${r.shards.count} shards, ${count(r.counts.written)} rows written (${count(r.counts.rowsRead)} read) in this run`
        : r.resumeAfter
          ? `${r.view} checkpointed at key ${r.resumeAfter.join('/')}, ${count(r.counts.written)} rows written (${count(r.counts.rowsRead)} read) in this run`
          : `${r.view} stopped before its first checkpoint, ${count(r.counts.written)} rows written`,
    );
  const notStarted = views.filter((v) => !results.some((r) => r.view === v));
  if (notStarted.length > 0) parts.push(`not started: ${notStarted.join(', ')}`);
  const kept = parts.length > 0 ? parts.join('; ') : 'nothing was materialized';
  const paused = results.some((r) => r.status === 'paused');
  return new InterruptedError(
    signal,
    `${kept}; ${paused ? 'the lease is released' : 'no lease is held'}`,
    paused || notStarted.length > 0 ? resume : undefined,
  );
}

function printSummary(ctx: CliContext, results: readonly MaterializeViewResult[]): void {
  ctx.out.table(
    [
      'view',
      'window',
      'rows read',
      'written',
      'skipped as older',
      'quarantined',
      'watermark',
      'freshness lag',
    ],
    results.map((r) => [
      r.view +
        (r.shards
          ? ` (${r.shards.count} shards${r.shards.alreadyDone.length > 0 ? `, ${r.shards.alreadyDone.length} done before` : ''})`
          : '') +
        (r.resumed ? ' (resumed)' : '') +
        (r.status === 'paused' ? ' (stopped)' : ''),
      windowText(r),
      r.counts.rowsRead,
      r.counts.written,
      r.counts.skippedAsOlder,
      r.counts.rejected,
      r.watermark ?? '-',
      r.freshnessLagMs === undefined ? '-' : formatLag(r.freshnessLagMs),
    ]),
  );
}

/** What a run read: new ingests and rows dated since the last run, a range, or everything. */
function windowText(r: MaterializeViewResult): string {
  const { window, scope } = r;
  if (scope?.kind === 'incremental') {
    const ingests = `${scope.newIngests ?? 0} new ingest(s), ${(scope.newIngestRows ?? 0).toLocaleString('en-US')} rows`;
    return `${ingests}; dated > ${window.after} … ${window.until}`;
  }
  const range = window.after ? `> ${window.after}` : window.from ? `≥ ${window.from}` : 'all';
  const why = scope?.kind === 'full' && scope.reason ? ` (full: ${scope.reason})` : '';
  return `${range} … ${window.until}${why}`;
}

/** `--shards`: a whole number from 1 to maxShards, refused with what is wrong and why. */
function shardCountOption(text: string): number {
  try {
    return parseShardCount(text, '--shards');
  } catch (error) {
    if (!(error instanceof ShardCountError)) throw error;
    throw new InvalidArgumentError(`${error.message} (${error.hint}).`);
  }
}
