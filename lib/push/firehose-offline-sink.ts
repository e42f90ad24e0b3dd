import { randomBytes } from 'node:crypto';
import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { RuntimeSource } from '../registry/runtime-projection.ts';
import { firehoseRecords, type PushIdentity } from './firehose-records.ts';
import { OfflinePushUnavailableError } from './offline-push-unavailable.ts';
import { storeFailure } from './push-store-failure.ts';
import { stagedPushKey } from './staged-push-key.ts';
import type { PushRow } from './validate-push-rows.ts';

export { OfflinePushUnavailableError };

/** PutRecordBatch takes at most 500 records and 4 MiB per call. */
const maxRecordsPerCall = 500;
const maxBytesPerCall = 4 * 1024 * 1024;

export interface FirehoseSinkOptions {
  readonly client: FirehoseClient;
  /** The delivery stream of a source (lib/push/firehose-staging.ts `pushStreamName`). */
  readonly streamName: (source: string) => string;
  /** Calls per chunk, the first included, before the push fails (default 4). */
  readonly attempts?: number;
  /** First backoff; doubled per attempt, with full jitter (default 100 ms). */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly newPushId?: () => string;
}

/**
 * The push Lambda's offline hook (docs/adr/0016-offline-push-on-aws.md): the validated rows as
 * one Firehose record each, sent with PutRecordBatch to the source's stream, in chunks of at
 * most 500 records / 4 MiB. Firehose stores a record durably before it acknowledges it, so the
 * hook returns only when every record was acknowledged. Records a call reports failed
 * (`FailedPutCount`, per-record `ErrorCode`) are resent alone with exponential backoff and
 * jitter; past the attempts the push fails with OfflinePushUnavailableError. Given the push's
 * time, it returns the key the rows were staged with (`pushLog`, staged-push-key.ts).
 */
export function firehoseOfflineSink(options: FirehoseSinkOptions) {
  const attempts = options.attempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const newPushId = options.newPushId ?? defaultPushId;
  return async (
    source: RuntimeSource,
    rows: readonly PushRow[],
    identity?: Partial<PushIdentity>,
  ): Promise<{ readonly pushLog: string } | undefined> => {
    const pushId = identity?.pushId ?? newPushId();
    const records = firehoseRecords(source, rows, {
      pushId,
      ...(identity?.idempotencyKey === undefined
        ? {}
        : { idempotencyKey: identity.idempotencyKey }),
      ...(identity?.tiles === undefined ? {} : { tiles: identity.tiles }),
      ...(identity?.pushedAtMs === undefined ? {} : { pushedAtMs: identity.pushedAtMs }),
    });
    const stream = options.streamName(source.name);
    for (const chunk of chunks(records)) {
      let waiting = chunk;
      for (let attempt = 1; waiting.length > 0; attempt += 1) {
        if (attempt > 1) await sleep(Math.random() * baseDelayMs * 2 ** (attempt - 2));
        const answer = await sendBatch(options.client, stream, waiting);
        if (!answer.FailedPutCount) break;
        const failed = waiting.filter((_, i) => answer.RequestResponses?.[i]?.ErrorCode);
        // A count without per-record codes names no record: resend them all.
        const resend = failed.length > 0 ? failed : waiting;
        if (attempt >= attempts) {
          const code = answer.RequestResponses?.find((r) => r.ErrorCode)?.ErrorCode ?? 'unknown';
          throw new OfflinePushUnavailableError(
            `Firehose stream ${stream} did not accept ${resend.length} of ${records.length} records after ${attempts} attempts (${code}); the push is not stored offline`,
          );
        }
        waiting = resend;
      }
    }
    // The key the rows were staged with: their tiles carry it (ADR 0020, "Ties for `last`").
    return identity?.pushedAtMs === undefined
      ? undefined
      : { pushLog: stagedPushKey(identity.pushedAtMs, pushId) };
  };
}

/** A call Firehose failed as a service (throttled past the SDK's retries, 5xx, unreachable) is the offline buffer failing: 503, not a bug. */
async function sendBatch(client: FirehoseClient, stream: string, records: readonly string[]) {
  try {
    return await client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: stream,
        Records: records.map((text) => ({ Data: Buffer.from(text, 'utf8') })),
      }),
    );
  } catch (error) {
    if (!storeFailure(error)) throw error;
    throw new OfflinePushUnavailableError(
      `Firehose stream ${stream} failed: ${(error as Error).message}; the push is not stored offline`,
      { cause: error },
    );
  }
}

function chunks(records: readonly string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(record, 'utf8');
    if (
      current.length === maxRecordsPerCall ||
      (current.length > 0 && bytes + size > maxBytesPerCall)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** A push the caller gave no identity: 128 random bits, as lib/push/push-id.ts's `newPushId`. */
function defaultPushId(): string {
  return randomBytes(16).toString('hex');
}
