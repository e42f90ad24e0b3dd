import { type Command, InvalidArgumentError } from 'commander';
import { createLookupHandler, localLambdaContext } from '../../../lambdas/online-lookup/handler.ts';
import { appliedRegistryPath } from '../../data-paths.ts';
import { startHttpServer } from '../../local/http-server.ts';
import { type LocalOnlineStore, openLocalOnlineStore } from '../../local/local-online-store.ts';
import { LocalScheduler } from '../../local/local-scheduler.ts';
import { localSignedPut } from '../../local/local-signed-put.ts';
import { materializeLocal } from '../../local/materialize-local.ts';
import { oneAtATime } from '../../local/one-at-a-time.ts';
import { watchRegistryFile } from '../../local/registry-watch.ts';
import { parseKeepDuration } from '../../offline/compact-replaced.ts';
import { ensureLocalTable } from '../../online/online-table.ts';
import { BackgroundCompaction } from '../../push/background-compaction.ts';
import { compactPushLogs } from '../../push/compact-push-logs.ts';
import { pushEventHandler } from '../../push/push-event.ts';
import { dynamoPushIdempotency } from '../../push/push-idempotency.ts';
import {
  localIdempotencyExpirySeconds,
  pushIdempotencyTableName,
} from '../../push/push-idempotency-table.ts';
import { defaultPushLimits } from '../../push/push-limits.ts';
import { placePushLog } from '../../push/push-log.ts';
import type { Registry } from '../../registry/index.ts';
import { UsageError } from '../cli-error.ts';
import type { CliContext } from '../context.ts';
import { CliContext as Context } from '../context.ts';
import { InterruptedError } from '../shutdown.ts';
import { positiveIntegerOrZero } from './parse-options.ts';

export interface ServeOptions {
  port: number;
  host: string;
  /** In-process cache lifetime of online items, 0 for none. */
  cacheTtlMs: number;
  /** Ingest waiting push logs at start and then this often (ms); 0 never. Default one minute. */
  compactPushLogsEvery?: number;
}

const defaultPushCompactionMs = 60_000;
/** How long a local push in progress holds its Idempotency-Key (a killed server's is freed then). */
const localPushInProgressMs = 30_000;

function idempotencyExpiry(): number {
  try {
    return localIdempotencyExpirySeconds(process.env);
  } catch (error) {
    throw new UsageError(
      (error as Error).message,
      'e.g. FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS=3600',
    );
  }
}

/**
 * Serves the lookup API on the local online store until SIGINT/SIGTERM; resolves when stopped:
 * the server stops accepting and closes, a scheduled materialization that is running stops at
 * its next checkpoint (lease released), the store closes (online.lock removed). A stop request
 * after the server was ready is its normal end (exit 0); one before it exits 130/143.
 */
export async function serveUntilStopped(
  ctx: CliContext,
  registry: Registry,
  options: ServeOptions,
  store?: Awaited<ReturnType<typeof openLocalOnlineStore>>,
): Promise<void> {
  const stop = ctx.shutdown.stopSignal();
  const idempotencyExpirySeconds = idempotencyExpiry();
  const online = store ?? (await openLocalOnlineStore(ctx.options.dataDir, ctx.env));
  // Locally, metrics would only be noise on stdout; the handler is otherwise the Lambda's.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const config = {
    tableName: online.table,
    maxEntities: 1000,
    maxBodyBytes: 262_144,
    cacheTtlMs: options.cacheTtlMs,
  };
  const handlerFor = (served: Registry) =>
    createLookupHandler({
      registry: served,
      client: online.client,
      config,
      // A LevelDB error seen while serving means a damaged store: /v1/health answers 503.
      health: async () => online.healthy(),
    });
  // What is served; replaced as a whole when `fstore apply` records a new registry.
  let current = { registry, handler: handlerFor(registry) };
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    // Idempotency-Key records of pushes, in a table beside the online table (same server).
    const idempotencyTable = pushIdempotencyTableName(ctx.env);
    await ensureLocalTable(online.client, idempotencyTable);
    const idempotency = dynamoPushIdempotency({
      client: online.client,
      table: idempotencyTable,
      expiresAfterSeconds: idempotencyExpirySeconds,
      inProgressExpiryMs: localPushInProgressMs,
    });
    // Pushes write through the signed PutItem client (the SDK client if it cannot be built).
    const putItem = localSignedPut(online.endpoint, (reason) =>
      ctx.out.status(`pushes write through the AWS SDK client: ${reason}`),
    );
    server = await startHttpServer((event) => current.handler(event, localLambdaContext), {
      port: options.port,
      host: options.host,
      maxBodyBytes: config.maxBodyBytes,
      // Pushes write rows for the registry served now (docs/adr/0015-push.md).
      push: async (event) => {
        const served = current;
        const response = await pushEventHandler({
          registry: served.registry,
          limits: { ...defaultPushLimits, maxBodyBytes: config.maxBodyBytes },
          client: online.client,
          ...(putItem ? { putItem } : {}),
          table: online.table,
          idempotency,
          // The log folder's fsync runs beside the online puts; the answer waits for both.
          offline: (source, rows, push) =>
            placePushLog(ctx.options.dataDir, ctx.env, source, rows, push.pushId, push),
          onError: (error, requestId) =>
            console.error(`push failed (request id ${requestId ?? '-'})`, error),
        })(event);
        // A push that may have written online (any answer but a refusal) empties the lookup
        // cache before it answers, so a lookup sent after the answer reads the pushed values.
        const refused = response.statusCode >= 400 && response.statusCode < 500;
        if (config.cacheTtlMs > 0 && !refused)
          current = { ...current, handler: handlerFor(current.registry) };
        return response;
      },
    });
  } catch (error) {
    await online.close();
    throw error;
  }
  if (stop.aborted) {
    await server.close();
    await online.close();
    throw new InterruptedError(
      ctx.shutdown.signal ?? 'SIGTERM',
      'stopped before serving; the online store is closed',
      'run it again to serve',
    );
  }
  const stopped: string[] = [];
  // The background compaction and the one before each scheduled materialization take turns.
  const compaction = oneAtATime();
  let scheduler = startScheduler(ctx, registry, online, stop, stopped, compaction);
  const pushCompaction = new BackgroundCompaction(
    () => compaction(() => compactWaitingPushLogs(ctx, current.registry, stop)),
    options.compactPushLogsEvery ?? defaultPushCompactionMs,
    (error) => {
      if (!stop.aborted)
        ctx.out.status(`compaction of push logs failed: ${(error as Error).message}`);
    },
  );
  pushCompaction.start();
  const retiredSchedulers: Promise<void>[] = [];
  const registryFile = appliedRegistryPath(ctx.options.dataDir, ctx.env);
  const watcher = watchRegistryFile(registryFile, (change) => {
    if (change.kind === 'unusable') {
      ctx.out.status(
        `${ctx.display(registryFile)} changed but is not served: ${change.reason}; still serving registry ${current.registry.version}`,
      );
      return;
    }
    const next = change.registry;
    if (next.version === current.registry.version) return;
    current = { registry: next, handler: handlerFor(next) };
    // Running scheduled materializations finish under the old registry; new runs use the new one.
    retiredSchedulers.push(scheduler.stop());
    scheduler = startScheduler(ctx, next, online, stop, stopped, compaction);
    ctx.out.line(
      `${ctx.out.c.green('✔')} serving registry ${next.version} (applied to env "${ctx.env}"); run \`fstore materialize\` for views not materialized yet`,
    );
  });
  const service = registry.featureServices.find((s) => s.online)?.name;
  ctx.out.line(
    `${ctx.out.c.green('✔')} lookup API ready on ${server.url} (env "${ctx.env}", registry ${registry.version})`,
  );
  if (service) {
    ctx.out.line(
      `  curl -s -X POST ${server.url}/v1/features/${service} -H 'content-type: application/json' -d '{"entities":[{"customer_id":"C000001"}]}'`,
    );
  }
  ctx.out.line(`  curl -s ${server.url}/v1/registry`);
  ctx.out.line(
    `Materializing ${registry.featureViews
      .filter((v) => v.online)
      .map((v) => `${v.name} ${v.schedule}`)
      .join(', ')} in process. Ctrl-C stops it.`,
  );
  ctx.shutdown.stopIsNormalEnd();
  if (!stop.aborted)
    await new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve()));
  ctx.out.status('stopping: closing the lookup API ...');
  watcher.close();
  const closed = server.close();
  await scheduler.stop();
  await Promise.all(retiredSchedulers);
  await pushCompaction.stop();
  await closed;
  await online.close();
  for (const line of stopped) ctx.out.status(line);
  ctx.out.status('stopped; online store closed');
}

/** Ingests the push logs waiting in the offline store, telling what it did on stderr. */
async function compactWaitingPushLogs(
  ctx: CliContext,
  registry: Registry,
  signal: AbortSignal,
): Promise<void> {
  const compacted = await compactPushLogs({
    registry,
    dataDir: ctx.options.dataDir,
    env: ctx.env,
    signal,
  });
  for (const c of compacted) {
    if (c.ingested > 0)
      ctx.out.status(
        `${new Date().toISOString()} push logs of ${c.source}: ${c.ingested} ingested (${c.rows} rows) into the offline store`,
      );
    for (const f of c.failed)
      ctx.out.status(
        `a push log of ${c.source} was not ingested; moved to ${ctx.display(f.log)}: ${f.reason.split('\n')[1] ?? ''} (fstore doctor lists it)`,
      );
  }
}

/** Materializes each online view on its own schedule while the server runs, as EventBridge would on AWS. */
function startScheduler(
  ctx: CliContext,
  registry: Registry,
  online: LocalOnlineStore,
  signal: AbortSignal,
  stopped: string[],
  compaction: ReturnType<typeof oneAtATime>,
): LocalScheduler {
  const jobs = registry.featureViews
    .filter((view) => view.online && view.schedule)
    .map((view) => ({
      name: view.name,
      schedule: view.schedule as string,
      run: async () => {
        const [result] = await materializeLocal({
          registry,
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          client: online.client,
          table: online.table,
          views: [view.name],
          signal,
          ingestPushLogs: (sources) =>
            compaction(() =>
              compactPushLogs({
                registry,
                dataDir: ctx.options.dataDir,
                env: ctx.env,
                sources,
                signal,
              }),
            ),
          onPushLogs: (c) => {
            if (c.ingested > 0)
              ctx.out.status(
                `${new Date().toISOString()} push logs of ${c.source}: ${c.ingested} ingested (${c.rows} rows) before materializing ${view.name}`,
              );
            for (const f of c.failed)
              ctx.out.status(
                `a push log of ${c.source} was not ingested; moved to ${ctx.display(f.log)} (fstore doctor lists it)`,
              );
          },
        });
        // None when a stop request came before the view started (e.g. while ingesting its logs).
        if (!result) return;
        if (result.status === 'paused') {
          stopped.push(
            `${view.name}: scheduled run stopped at its checkpoint (${result.counts.written} written${result.resumeAfter ? `, key ${result.resumeAfter.join('/')}` : ''}); the next run resumes there`,
          );
          return;
        }
        ctx.out.status(
          `${new Date().toISOString()} materialized ${view.name} (${view.schedule}): ${result?.counts.written ?? 0} written, ${result?.counts.skippedAsOlder ?? 0} unchanged, ${result?.counts.rejected ?? 0} quarantined; watermark ${result?.watermark ?? '-'}`,
        );
      },
    }));
  const scheduler = new LocalScheduler(jobs, (job, error) =>
    ctx.out.status(`materialization of ${job} failed: ${(error as Error).message}`),
  );
  scheduler.start();
  return scheduler;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve the HTTPS lookup API locally (same handler as the Lambda) on the local online store',
    )
    .option('--port <n>', 'port (0 picks a free one)', positiveIntegerOrZero('port'), 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option(
      '--cache-ttl-ms <n>',
      'cache hot online items in process for this long (0: off)',
      positiveIntegerOrZero('cache-ttl-ms'),
      0,
    )
    .option(
      '--compact-push-logs-every <duration>',
      'ingest the push logs waiting for the offline store at start and then this often, e.g. 30s, 5m, 0 for never (default 1m)',
      (text: string) => {
        try {
          return parseKeepDuration(text, '--compact-push-logs-every');
        } catch (error) {
          throw new InvalidArgumentError((error as Error).message);
        }
      },
    )
    .action(async (options: ServeOptions, command: Command) => {
      const ctx = Context.fromCommand(command);
      if (ctx.env !== 'local' && !ctx.env.startsWith('local-'))
        throw new UsageError(
          `serve runs local environments; "${ctx.env}" is on AWS`,
          'use --env local',
        );
      await serveUntilStopped(ctx, await ctx.compile(), options);
    });
}
