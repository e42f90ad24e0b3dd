import path from 'node:path';
import { createInterface } from 'node:readline';
import { type Readable, Transform } from 'node:stream';
import { ApiError } from '../../api/api-error.ts';
import { parseJsonBody } from '../../api/parse-json-body.ts';
import { quarantineDir } from '../../data-paths.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { fileQuarantine } from '../../materialize/quarantine.ts';
import { LockedError } from '../../process-lock.ts';
import { compactPushLogs, type PushLogCompaction } from '../../push/compact-push-logs.ts';
import { executePush, type PushAnswer } from '../../push/execute-push.ts';
import { defaultPushLimits } from '../../push/push-limits.ts';
import { appendPushLog, pushLogKey } from '../../push/push-log.ts';
import { type PushTarget, writesOffline, writesOnline } from '../../push/push-target.ts';
import type { Registry } from '../../registry/index.ts';
import type { RuntimeSource } from '../../registry/runtime-projection.ts';
import { CliError, exitCodes } from '../cli-error.ts';
import type { CliContext } from '../context.ts';
import { plural } from '../plural.ts';

export interface FollowOptions {
  readonly to: PushTarget;
  /** Lines per push at most (≤ the push limit of rows per request). */
  readonly batchRows: number;
  /** How long the first line of a batch waits for more before the batch is pushed. */
  readonly batchMs: number;
  readonly json: boolean;
  /** Ingest this run's push logs this often while it runs (ms; 0: only when it ends). */
  readonly compactEveryMs: number;
}

export interface FollowSummary {
  readonly lines: number;
  readonly rows: number;
  readonly batches: number;
  readonly skipped: number;
  /** Skipped lines whose quarantine write failed (full disk, permission): kept nowhere. */
  readonly notKept: number;
  readonly compacted: readonly PushLogCompaction[];
}

/** How many of the line numbers not kept the final error names. */
const namedNotKept = 10;

/** Waits between attempts on a busy compaction lock: 0.5 s, doubling, at most 10 s. */
const firstRetryMs = 500;
const maxRetryMs = 10_000;
/** How long the end of a run retries a busy lock before it leaves the logs to their holder. */
const endLockWaitMs = 5 * 60_000;

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

interface PendingLine {
  readonly line: number;
  readonly row: unknown;
}

/**
 * `fstore push --follow`: JSON lines from `input` (stdin) as a local stand-in for a stream.
 * Lines are pushed in batches of at most `batchRows`, or whatever arrived within `batchMs` of a
 * batch's first line, one batch at a time, each through the same rules and writes as
 * `POST /v1/push/{source}`; each batch's answer is printed once it is stored (acknowledged).
 * A bad line (not JSON, or a row the push rules refuse) is reported with its line number and
 * skipped and kept under `quarantine/_stream/`; the rest of its batch is pushed. End of input,
 * SIGTERM or SIGINT push the lines already read, then compact the push logs of this run into
 * the offline store and end (exit 0; exit 3 when some skipped line could not be kept).
 * While another process holds the source's compaction lock, reading and pushing go on and the
 * compaction is retried with growing waits, each said on stderr; at the end for up to 5 minutes.
 * A store failure stops the run (exit 1) naming the lines not acknowledged.
 */
export async function followPush(
  ctx: CliContext,
  registry: Registry,
  source: RuntimeSource,
  options: FollowOptions,
  input: Readable = process.stdin,
): Promise<FollowSummary> {
  const stop = ctx.shutdown.stopSignal();
  ctx.shutdown.stopIsNormalEnd();
  const store = writesOnline(options.to)
    ? await openLocalOnlineStore(ctx.options.dataDir, ctx.env, { attach: true })
    : undefined;
  const counts = { lines: 0, rows: 0, batches: 0, skipped: 0, notKept: 0 };
  const notKeptLines: number[] = [];
  let quarantineLocation = '';
  const pending: PendingLine[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let failure: unknown;

  const compacted: PushLogCompaction[] = [];
  /** When the next compaction while running is due: the interval, or a retry after a busy lock. */
  let nextCompactionAt = Date.now() + options.compactEveryMs;
  let busyAttempts = 0;
  /**
   * Ingests the waiting push logs of the source into the offline store and says so. False when
   * another process (a `fstore serve`, `fstore compact`) holds the source's compaction lock: it
   * is ingesting them, and the logs are durable meanwhile.
   */
  const tryCompact = async (): Promise<boolean> => {
    let done: PushLogCompaction[];
    try {
      done = await compactPushLogs({
        registry,
        dataDir: ctx.options.dataDir,
        env: ctx.env,
        sources: [source.name],
        lockWaitMs: 0,
      });
    } catch (error) {
      if (!(error instanceof LockedError)) throw error;
      busyAttempts += 1;
      const delayMs = Math.min(maxRetryMs, firstRetryMs * 2 ** (busyAttempts - 1));
      const holder = /pid \d+/.exec(error.message)?.[0] ?? 'another fstore process';
      ctx.out.status(
        `compaction of the push logs of ${source.name} is busy (${holder} is ingesting them); the logs are stored durably, retrying in ${seconds(delayMs)}`,
      );
      nextCompactionAt = Date.now() + delayMs;
      return false;
    }
    busyAttempts = 0;
    nextCompactionAt = Date.now() + options.compactEveryMs;
    compacted.push(...done);
    for (const c of done)
      if (options.json) process.stdout.write(`${JSON.stringify({ compacted: c })}\n`);
      else
        ctx.out.line(
          `${ctx.out.c.green('✔')} ${plural(c.rows, 'row')} of ${c.source} added to the offline store (${plural(c.ingested, 'push log')} ingested)`,
        );
    return true;
  };
  /** A compaction while running never fails a batch: its lines are acknowledged, its logs durable. */
  const compactWhileRunning = async () => {
    try {
      await tryCompact();
    } catch (error) {
      nextCompactionAt = Date.now() + options.compactEveryMs;
      ctx.out.status(
        `compaction of the push logs of ${source.name} failed (${(error as Error).message}); the logs are stored durably, trying again in ${seconds(options.compactEveryMs)}`,
      );
    }
  };
  /** At the end: retries a busy lock with growing waits (a second SIGINT/SIGTERM exits at once). */
  const compactAtEnd = async () => {
    const giveUpAt = Date.now() + endLockWaitMs;
    try {
      while (!(await tryCompact()))
        if (nextCompactionAt > giveUpAt)
          throw new Error(`the compaction lock stayed busy for over ${seconds(endLockWaitMs)}`);
        else await new Promise((resolve) => setTimeout(resolve, nextCompactionAt - Date.now()));
    } catch (error) {
      throw new CliError(
        `${plural(counts.rows, 'row')} pushed and acknowledged, but their push logs were not ingested into the offline store: ${(error as Error).message}`,
        {
          hint: 'do not send them again: the logs are stored durably, and fstore compact (or a running fstore serve) ingests them',
          cause: error,
        },
      );
    }
  };

  // Skipped lines are kept as a stream function keeps refused records (fstore quarantine stream).
  let quarantined: Promise<void> = Promise.resolve();
  const skip = (line: number, reason: string, data: unknown) => {
    counts.skipped += 1;
    if (options.json) process.stdout.write(`${JSON.stringify({ skipped: { line, reason } })}\n`);
    else ctx.out.status(`line ${line} skipped: ${reason}`);
    const sink = streamQuarantine(ctx, source.name);
    quarantineLocation = sink.location;
    sink.add([{ row: { line, data }, reasons: [reason] }]);
    quarantined = quarantined
      .then(() => sink.flush())
      .catch((error: unknown) => {
        counts.notKept += 1;
        notKeptLines.push(line);
        ctx.out.status(
          `${ctx.out.c.yellow('warning:')} line ${line} was not kept in ${sink.location}: ${(error as Error).message}`,
        );
      });
  };

  const pushBatch = async (batch: PendingLine[]) => {
    let lines = batch;
    while (lines.length > 0) {
      const answer = await executePush(
        {
          registry,
          ...(store ? { online: { client: store.client, table: store.table } } : {}),
          offline: async (pushed, rows, push) => {
            const log = await appendPushLog(
              ctx.options.dataDir,
              ctx.env,
              pushed,
              rows,
              undefined,
              push,
            );
            return { pushLog: pushLogKey(log) };
          },
        },
        defaultPushLimits,
        source.name,
        { rows: lines.map((l) => l.row), to: options.to },
      ).catch((error: unknown) => {
        const row = error instanceof ApiError ? error.details.row : undefined;
        const bad = typeof row === 'number' ? lines[row] : undefined;
        if (!bad) throw error;
        skip(bad.line, reasonOf(error as ApiError), bad.row);
        return bad;
      });
      if ('line' in answer) {
        lines = lines.filter((l) => l !== answer);
        continue;
      }
      counts.batches += 1;
      counts.rows += answer.rows;
      report(ctx, options, counts.batches, lines, answer);
      if (answer.offline && options.compactEveryMs > 0 && Date.now() >= nextCompactionAt)
        await compactWhileRunning();
      return;
    }
  };

  /** Pushes what is pending now, after any push already under way; batches never overlap. */
  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending.splice(0, pending.length);
    if (batch.length === 0) return flushing;
    flushing = flushing.then(async () => {
      if (failure) return;
      try {
        await pushBatch(batch);
      } catch (error) {
        failure ??= notAcknowledged(error, batch);
      }
    });
    return flushing;
  };

  const lines = createInterface({
    input: input.pipe(cutLongLines(defaultPushLimits.maxBodyBytes + 1)),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const onStop = () => lines.close();
  stop.addEventListener('abort', onStop, { once: true });
  try {
    for await (const text of lines) {
      counts.lines += 1;
      const line = counts.lines;
      if (text.trim() === '') continue;
      if (Buffer.byteLength(text, 'utf8') > defaultPushLimits.maxBodyBytes) {
        skip(
          line,
          `the line is over ${defaultPushLimits.maxBodyBytes} bytes`,
          `${text.slice(0, 1024)}…`,
        );
        continue;
      }
      let row: unknown;
      try {
        row = parseJsonBody(text);
      } catch (error) {
        const reason = error instanceof ApiError ? error.message : String(error);
        skip(line, reason.replace(/^(\$: )?request body is /, ''), text);
        continue;
      }
      pending.push({ line, row });
      if (pending.length >= options.batchRows) await flush();
      else timer ??= setTimeout(() => void flush(), options.batchMs);
      if (failure || stop.aborted) break;
    }
    await flush();
  } finally {
    stop.removeEventListener('abort', onStop);
    clearTimeout(timer);
    lines.close();
    input.destroy();
    await store?.close();
    await quarantined;
  }
  if (failure) throw failure;
  if (writesOffline(options.to)) await compactAtEnd();
  const summary = { ...counts, compacted };
  if (options.json) process.stdout.write(`${JSON.stringify({ done: summary })}\n`);
  else {
    const why = stop.aborted ? `stopped by ${ctx.shutdown.signal}` : 'end of input';
    const lost = summary.notKept > 0 ? ` (${summary.notKept} of them not kept)` : '';
    ctx.out.line(
      `${why}: ${plural(summary.rows, 'row')} pushed in ${plural(summary.batches, 'batch', 'batches')}, ${plural(summary.skipped, 'line')} skipped${lost}`,
    );
  }
  if (summary.notKept > 0) {
    const named = notKeptLines.slice(0, namedNotKept).join(', ');
    const more = notKeptLines.length > namedNotKept ? ', …' : '';
    throw new CliError(
      `${plural(summary.notKept, 'skipped line')} (${named}${more}) could not be kept in ${path.dirname(quarantineLocation)}: the warnings above say why; the pushed rows are stored`,
      {
        hint: 'those lines are kept nowhere else: make the quarantine folder writable (disk space, permissions) and send them again from your input',
        exitCode: exitCodes.skippedLinesNotKept,
      },
    );
  }
  return summary;
}

/** Locally, what a stream function writes on AWS: `quarantine/_stream/<source>/<UTC day>.jsonl`. */
function streamQuarantine(ctx: CliContext, source: string) {
  return fileQuarantine(path.join(quarantineDir(ctx.options.dataDir, ctx.env), '_stream'), {
    view: source,
    runId: new Date().toISOString().slice(0, 10),
  });
}

function report(
  ctx: CliContext,
  options: FollowOptions,
  batch: number,
  lines: readonly PendingLine[],
  answer: PushAnswer,
): void {
  const first = lines[0]?.line ?? 0;
  const last = lines[lines.length - 1]?.line ?? 0;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ batch, lines: [first, last], ...answer })}\n`);
    return;
  }
  const online = answer.online
    ? `: ${
        answer.online.views
          .map((v) => `${v.view} ${v.written} written, ${v.skippedAsOlder} skipped as older`)
          .join('; ') || 'no online view'
      }`
    : '';
  const offline = answer.offline ? ' (offline: push log stored)' : '';
  ctx.out.line(
    `${ctx.out.c.green('✔')} batch ${batch}, lines ${first}-${last}: ${plural(answer.rows, 'row')}${online}${offline}`,
  );
}

/** The reason of a refused row, without its `$.rows[i]` path (the line number replaces it). */
function reasonOf(error: ApiError): string {
  return error.message.replace(/^\$\.rows\[\d+\]\.?/, '').replace(/^:\s*/, '');
}

function notAcknowledged(error: unknown, batch: readonly PendingLine[]): CliError {
  const first = batch[0]?.line;
  const last = batch[batch.length - 1]?.line;
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(
    `the push of lines ${first}-${last} failed: ${message}; those lines and any after them were not acknowledged`,
    {
      hint: `send them again from line ${first} (online a resent row ties with itself and rewrites the same values)`,
      cause: error,
    },
  );
}

/**
 * Passes lines through, cutting each after `maxBytes` bytes (the rest up to its newline is
 * dropped), so a line with no end in sight is held to `maxBytes` and then refused as too long
 * instead of filling memory.
 */
export function cutLongLines(maxBytes: number): Transform {
  let lineBytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const kept: Buffer[] = [];
      let start = 0;
      while (start < chunk.length) {
        const newline = chunk.indexOf(10, start);
        const end = newline === -1 ? chunk.length : newline + 1;
        const room = Math.max(0, maxBytes - lineBytes);
        const body = newline === -1 ? end - start : end - start - 1;
        kept.push(chunk.subarray(start, start + Math.min(body, room)));
        if (newline !== -1) kept.push(chunk.subarray(newline, newline + 1));
        lineBytes = newline === -1 ? lineBytes + body : 0;
        start = end;
      }
      done(null, Buffer.concat(kept));
    },
  });
}
