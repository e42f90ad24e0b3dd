import { type Command, InvalidArgumentError, Option } from 'commander';
import { ApiError } from '../../api/api-error.ts';
import { isLocalEnv } from '../../data-paths.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { parseKeepDuration } from '../../offline/compact-replaced.ts';
import { LockedError } from '../../process-lock.ts';
import { compactPushLogs, type PushLogCompaction } from '../../push/compact-push-logs.ts';
import { executePush, type PushAnswer } from '../../push/execute-push.ts';
import type { PushIdentity } from '../../push/push-id.ts';
import { defaultPushLimits } from '../../push/push-limits.ts';
import { placePushLog, pushIdOfLog, pushLogDir } from '../../push/push-log.ts';
import { logTiles } from '../../push/push-log-tiles.ts';
import { onlinePushViews, pushSource } from '../../push/push-source.ts';
import {
  type PushTarget,
  pushTargets,
  writesOffline,
  writesOnline,
} from '../../push/push-target.ts';
import { onlineTileViews } from '../../push/push-tiles.ts';
import type { Registry } from '../../registry/index.ts';
import { CliError, UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { positiveIntegerOrZero } from './parse-options.ts';
import { filePushIdentity, runKeyedFilePush } from './push-file-identity.ts';
import { readPushFile } from './push-file-rows.ts';
import { followPush } from './push-follow.ts';

interface PushOptions {
  source?: string;
  file?: string;
  to: PushTarget;
  compact?: boolean;
  follow?: boolean;
  batchRows: number;
  batchMs: number;
  compactEvery: number;
  idempotencyKey?: string;
  json?: boolean;
}

/**
 * `fstore push`: the rows of a file through the same rules and writes as
 * `POST /v1/push/{source}` (docs/adr/0015-push.md), on the local stores. The whole file is one
 * push: one bad row writes nothing. Offline, the rows go to the push log and are ingested at
 * once; `--compact` ingests the logs that pushes to a running server left.
 */
export function registerPush(program: Command): void {
  program
    .command('push')
    .description(
      'Write rows of a .jsonl, .csv or .parquet file (or, with --follow, JSON lines from stdin) to a source now, as POST /v1/push/{source} does: its online views, and its offline store (local environments); --compact ingests waiting push logs',
    )
    .option('--source <name>', 'the source the rows belong to (with --compact: only this one)')
    .option(
      '--file <path>',
      'rows: .jsonl (one JSON object per line), .csv (header row) or .parquet (its types mapped to the schema)',
    )
    .addOption(
      new Option('--to <target>', 'where the rows go')
        .choices([...pushTargets])
        .default('online_and_offline'),
    )
    .option('--compact', 'ingest the push logs waiting for the offline store, then stop')
    .option(
      '--follow',
      'read JSON lines from stdin (a local stand-in for a stream) and push them in batches until end of input or SIGTERM; a bad line is reported with its number and skipped, the rest of its batch is pushed; offline, the logs of the run are ingested when it ends',
    )
    .option(
      '--batch-rows <n>',
      `with --follow: lines per push at most (1-${defaultPushLimits.maxRows})`,
      batchRowsOption,
      100,
    )
    .option(
      '--batch-ms <n>',
      'with --follow: how long a batch waits for more lines after its first one',
      positiveIntegerOrZero('batch-ms'),
      200,
    )
    .addOption(
      new Option(
        '--compact-every <duration>',
        "with --follow: ingest the run's push logs into the offline store this often, e.g. 30s, 5m; 0: only when it ends",
      )
        .default(60_000, '1m')
        .argParser((text: string) => {
          try {
            return parseKeepDuration(text, '--compact-every');
          } catch (error) {
            throw new InvalidArgumentError((error as Error).message);
          }
        }),
    )
    .option(
      '--idempotency-key <key>',
      'with --file: names this push, so running the same command again (its answer was lost) lands the rows once, as the Idempotency-Key header of POST /v1/push does (scope: key + source); the same key with other rows is refused. A failed push log replayed from failed/ keeps its own push id without a key',
    )
    .option('--json', 'print the answer as JSON (with --follow: one JSON line per batch)')
    .action(async (options: PushOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env))
        throw new UsageError(
          `push runs local environments from the CLI; on AWS ("${ctx.env}") the push route is not deployed yet`,
          'use --env local',
        );
      if (options.idempotencyKey !== undefined && (options.follow || options.compact))
        throw new UsageError(
          '--idempotency-key names one push, of --file: --follow pushes batches whose bounds depend on timing, and --compact pushes nothing',
          'e.g. fstore push --source payments --file rows.jsonl --idempotency-key nightly-2026-03-01',
        );
      const registry = await ctx.compile();
      if (options.follow) {
        if (options.file || options.compact)
          throw new UsageError(
            '--follow reads stdin and takes no --file or --compact',
            'e.g. tail -f rows.jsonl | fstore push --source payments --follow',
          );
        if (!options.source)
          throw new UsageError('--follow needs --source', 'e.g. --source payments');
        const followed = inCli(() => pushSource(registry, options.source as string), '--source');
        if (
          options.to === 'online' &&
          onlinePushViews(registry, followed.name).length === 0 &&
          onlineTileViews(registry, followed.name).length === 0
        )
          throw new UsageError(
            `--to online: no online feature view reads source "${followed.name}", so nothing would be stored`,
            'mark a passthrough view over it online: true, or an aggregation view online with onlineTiles: true (then fstore apply), or use --to offline',
          );
        await followPush(ctx, registry, followed, {
          to: options.to,
          batchRows: options.batchRows,
          batchMs: options.batchMs,
          json: options.json === true,
          compactEveryMs: options.compactEvery,
        });
        return;
      }
      if (options.compact) {
        if (options.file)
          throw new UsageError('--compact takes no --file', 'run them one after the other');
        if (options.source) inCli(() => pushSource(registry, options.source as string), '--source');
        return compact(ctx, registry, options);
      }
      if (!options.source || !options.file)
        throw new UsageError(
          'pass --source and --file (or --compact)',
          'e.g. --source payments --file rows.jsonl',
        );
      const source = inCli(() => pushSource(registry, options.source as string), '--source');
      const pushed = filePushIdentity(options.file, options.idempotencyKey);
      const file = await readPushFile(options.file, source);
      if (file.rows.length === 0)
        throw new CliError(`${ctx.display(options.file)} has no rows`, {
          hint: 'write one row per line',
        });
      // A keyed push keeps its record beside the online table, so it opens the store either way.
      const store =
        writesOnline(options.to) || pushed.key !== undefined
          ? await openLocalOnlineStore(ctx.options.dataDir, ctx.env, { attach: true })
          : undefined;
      let answer: PushAnswer;
      let replayed = false;
      try {
        const body = { rows: file.rows, to: options.to };
        const run = (identity?: PushIdentity) =>
          executePush(
            {
              registry,
              ...(store ? { online: { client: store.client, table: store.table } } : {}),
              offline: async (into, rows, push) => {
                // A failed push log replayed keeps its push id, and its rows their tiles: those
                // its push applied them to, and those this replay applies them to.
                const replayed =
                  pushIdOfLog(options.file as string) === undefined
                    ? []
                    : await logTiles(
                        options.file as string,
                        pushLogDir(ctx.options.dataDir, ctx.env, into.name),
                      );
                const placed = await placePushLog(
                  ctx.options.dataDir,
                  ctx.env,
                  into,
                  rows,
                  push.pushId,
                  {
                    ...push,
                    tiles: replayed === 'every' ? 'every' : [...replayed, ...push.tiles],
                  },
                );
                await placed.durable;
                return { pushLog: placed.pushLog };
              },
            },
            defaultPushLimits,
            source.name,
            body,
            ...(identity ? [identity] : []),
          ).catch((error: unknown) => {
            throw error instanceof ApiError
              ? fileError(error, ctx.display(options.file as string), file.place)
              : error;
          });
        if (store && pushed.key !== undefined) {
          const keyed = await runKeyedFilePush(
            store.client,
            ctx.env,
            pushed.key,
            { source: source.name, body },
            run,
          );
          answer = keyed.answer;
          replayed = keyed.replayed;
        } else answer = await run(pushed.identity);
      } finally {
        await store?.close();
      }
      const { compacted, waiting } = writesOffline(options.to)
        ? await compactAfterPush(ctx, registry, source.name)
        : { compacted: [], waiting: [] };
      if (options.json) {
        ctx.out.json({
          ...answer,
          ...(replayed ? { replayed: true } : {}),
          compacted,
          ...(waiting.length > 0 ? { waitingForCompaction: waiting } : {}),
        });
        if (compacted.some((c) => c.failed.length > 0)) process.exitCode = 1;
        return;
      }
      if (replayed)
        ctx.out.line(
          `${ctx.out.c.green('✔')} already pushed with --idempotency-key ${pushed.key}: nothing written again; the first run's answer follows`,
        );
      const { online } = answer;
      if (online)
        ctx.out.line(
          `${ctx.out.c.green('✔')} pushed ${plural(answer.rows, 'row')} of ${answer.source} online: ${
            online.views
              .map((v) => `${v.view} ${v.written} written, ${v.skippedAsOlder} skipped as older`)
              .join('; ') || 'no online view'
          }`,
        );
      for (const { view, reason } of online?.notUpdated ?? [])
        ctx.out.line(`  not updated: ${view} (${reason})`);
      for (const c of compacted)
        if (c.ingested > 0)
          ctx.out.line(
            `${ctx.out.c.green('✔')} ${plural(c.rows, 'row')} of ${c.source} added to the offline store (${plural(c.ingested, 'push log')} ingested)`,
          );
      for (const c of compacted)
        if (c.alreadyIngested > 0)
          ctx.out.line(
            `${ctx.out.c.green('✔')} ${plural(c.alreadyIngested, 'push log')} of ${c.source} already ingested (same push id): not added again`,
          );
      reportFailedLogs(ctx, compacted);
    });
}

/** How long a push waits for another process's compaction of its source before leaving its logs. */
const pushLockWaitMs = 10_000;

/**
 * Ingests the push's logs right after it. While another process (a `fstore serve`, a
 * `fstore push --compact`) holds the source's compaction lock past a short wait, the push still
 * succeeds: its rows were acknowledged and its log is durable, so it waits for that process's
 * next compaction (or `fstore push --compact`), said on stderr, as `push --follow` does.
 */
async function compactAfterPush(
  ctx: CliContext,
  registry: Registry,
  source: string,
): Promise<{ compacted: PushLogCompaction[]; waiting: { source: string; reason: string }[] }> {
  try {
    const compacted = await compactPushLogs({
      registry,
      dataDir: ctx.options.dataDir,
      env: ctx.env,
      sources: [source],
      lockWaitMs: pushLockWaitMs,
    });
    return { compacted, waiting: [] };
  } catch (error) {
    if (!(error instanceof LockedError)) throw error;
    ctx.out.status(
      `the push logs of ${source} are stored durably and wait for compaction: ${error.message}; a running fstore serve ingests them within its compaction interval, else run fstore push --compact (do not push the rows again)`,
    );
    return { compacted: [], waiting: [{ source, reason: error.message }] };
  }
}

async function compact(ctx: CliContext, registry: Registry, options: PushOptions): Promise<void> {
  const compacted = await compactPushLogs({
    registry,
    dataDir: ctx.options.dataDir,
    env: ctx.env,
    ...(options.source ? { sources: [options.source] } : {}),
  });
  if (options.json) {
    ctx.out.json({ compacted });
    if (compacted.some((c) => c.failed.length > 0)) process.exitCode = 1;
    return;
  }
  if (compacted.length === 0) ctx.out.line('no push logs waiting');
  for (const c of compacted)
    ctx.out.line(
      `${ctx.out.c.green('✔')} ${c.source}: ${plural(c.ingested, 'push log')} ingested (${plural(c.rows, 'row')})${c.alreadyIngested > 0 ? `, ${c.alreadyIngested} already ingested removed` : ''}`,
    );
  reportFailedLogs(ctx, compacted);
}

/** Logs ingest refused were moved aside (later ones went on): say where and why, exit 1. */
function reportFailedLogs(ctx: CliContext, compacted: readonly PushLogCompaction[]): void {
  for (const c of compacted)
    for (const f of c.failed) {
      process.exitCode = 1;
      ctx.out.line(
        `${ctx.out.c.yellow('!')} a push log of ${c.source} was not ingested; moved to ${ctx.display(f.log)}:\n  ${f.reason.split('\n').join('\n  ')}`,
      );
    }
}

function batchRowsOption(text: string): number {
  const rows = Number(text);
  if (!/^\d+$/.test(text.trim()) || rows < 1 || rows > defaultPushLimits.maxRows)
    throw new InvalidArgumentError(
      `batch-rows must be a whole number from 1 to ${defaultPushLimits.maxRows} (the rows a push may carry), got "${text}".`,
    );
  return rows;
}

function inCli<T>(run: () => T, option: string): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof ApiError) throw new UsageError(`${option}: ${error.message}`);
    throw error;
  }
}

/** A push refusal told in the file's terms: `rows.csv data row 3: amount: ...`. */
function fileError(error: ApiError, file: string, place: (index: number) => string): CliError {
  const row = typeof error.details.row === 'number' ? error.details.row : undefined;
  const where = row === undefined ? file : `${file} ${place(row)}`;
  const message = error.message
    .replace(/^\$\.rows\[\d+\]\.?/, '')
    .replace(/^\$\.to: /, '--to: ')
    .replace(/\$\.rows\[(\d+)\]/g, (_, index: string) => place(Number(index)));
  return new CliError(`${where}${message.startsWith(':') ? '' : ': '}${message}`, {
    hint: 'nothing was written; fix the row and push the file again',
  });
}
