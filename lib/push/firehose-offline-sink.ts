import { randomBytes } from 'node:crypto';
import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { RuntimeSource } from '../registry/runtime-projection.ts';
import { firehoseRecords, type PushIdentity } from './firehose-records.ts';
import type { PushRow } from './validate-push-rows.ts';

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
 * Some records Firehose did not accept after every retry. The push answers 503 (the `$fault`
 * marks it a service failure, as the SDK's own errors are); records it did accept still reach
 * the staging prefix, and a retry with the same push id (an Idempotency-Key's) is kept once at
 * compaction (ADR 0016).
 */
export class OfflinePushUnavailableError extends Error {
  override readonly name = 'OfflinePushUnavailableError';
  readonly $fault = 'server';
}

/**
 * The push Lambda's offline hook (docs/adr/0016-offline-push-on-aws.md): the validated rows as
 * one Firehose record each, sent with PutRecordBatch to the source's stream, in chunks of at
 * most 500 records / 4 MiB. Firehose stores a record durably before it acknowledges it, so the
 * hook returns only when every record was acknowledged. Records a call reports failed
 * (`FailedPutCount`, per-record `ErrorCode`) are resent alone with exponential backoff and
 * jitter; past the attempts the push fails with OfflinePushUnavailableError.
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
  ): Promise<void> => {
    const records = firehoseRecords(source, rows, {
      pushId: identity?.pushId ?? newPushId(),
      ...(identity?.idempotencyKey === undefined
        ? {}
        : { idempotencyKey: identity.idempotencyKey }),
    });
    const stream = options.streamName(source.name);
    for (const chunk of chunks(records)) {
      let waiting = chunk;
      for (let attempt = 1; waiting.length > 0; attempt += 1) {
        if (attempt > 1) await sleep(Math.random() * baseDelayMs * 2 ** (attempt - 2));
        const answer = await options.client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: stream,
            Records: waiting.map((text) => ({ Data: Buffer.from(text, 'utf8') })),
          }),
        );
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
  };
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
