import type { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { QuarantineSink } from '../materialize/quarantine.ts';
import {
  type ConditionalWrite,
  sendConditionalPuts,
  type WriteOptions,
} from '../online/conditional-puts.ts';
import { itemAttributes } from '../online/item-codec.ts';
import type { RuntimeRegistry, RuntimeSource } from '../registry/runtime-projection.ts';
import { pushSource } from './push-source.ts';
import { applyTileRow, onlineTileViews } from './push-tiles.ts';
import { stagedPushKey } from './staged-push-key.ts';
import {
  type AcceptedRecord,
  type KinesisEventRecord,
  type KinesisStreamEvent,
  readStreamRecord,
  recordPosition,
} from './stream-records.ts';
import type { PushRow } from './validate-push-rows.ts';

export interface StreamBatchTarget {
  readonly registry: RuntimeRegistry;
  /** The source every record of the stream is a row of. */
  readonly source: string;
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly maxFutureSkewSeconds: number;
  /** Puts in flight at once (default 16). */
  readonly concurrency?: number;
  /** Throttle retries of each put (sendConditionalPuts' options). */
  readonly writeOptions?: Omit<WriteOptions, 'concurrency'>;
  readonly now?: () => number;
  /** The offline store numbers rows by the clock (S3): see OnlinePushTarget.seqFromClock. */
  readonly seqFromClock?: boolean;
  /** Called for each put that failed (the record and the rest of its shard's batch are retried). */
  readonly onWriteError?: (error: unknown, record: KinesisEventRecord) => void;
  /**
   * Stores rows durably for the offline store (the push's Firehose sink), before they are
   * written online. Each record is sent alone with push id `kinesis-<shard>-<sequence number>`,
   * so a record Lambda sends again is kept once when the staged rows are compacted, and with
   * the batch's time, which its online items and tiles rank by (staged as its push key).
   */
  readonly offline?: (
    source: RuntimeSource,
    rows: readonly PushRow[],
    identity: {
      readonly pushId: string;
      readonly tiles: readonly string[];
      readonly pushedAtMs: number;
    },
  ) => Promise<unknown>;
  /** Called for each record that could not be stored offline (it and later ones are retried). */
  readonly onOfflineError?: (error: unknown, record: KinesisEventRecord) => void;
  /** Called when the quarantine could not be stored (its records are retried). */
  readonly onQuarantineError?: (error: unknown) => void;
}

/** Lambda's partial batch response for a Kinesis event source mapping. */
export interface KinesisBatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

export interface StreamBatchOutcome extends KinesisBatchResponse {
  readonly records: number;
  /** Records quarantined: they can never be written, so they are not retried. */
  readonly rejected: number;
  /** Records equal to an earlier record of the batch (same columns): written once. */
  readonly duplicates: number;
  /**
   * Records whose item a later record of the batch with the same entity, event time and created
   * time replaces (as the later of two tied pushes wins): their puts are not sent.
   */
  readonly superseded: number;
  readonly written: number;
  readonly skippedAsOlder: number;
  /**
   * Rows added to aggregation views' tiles (a record counts once per view; a record whose id
   * the tiles already hold, a redelivery, is not counted again).
   */
  readonly tileRowsAdded: number;
  /** Records from the first failed one on, which Lambda sends again. */
  readonly retried: number;
}

/**
 * One batch of a shard's records, each one row of the source (README.md, "Streams"):
 * every record is read and checked as a push row; refused ones before the first failed record
 * go to `quarantine` with their reason and count as done (retrying cannot fix them; later ones
 * are quarantined when Lambda sends them again); the others' conditional puts go to
 * every online view of the source. A put failing (throttled past its retries, the table
 * unreachable) makes its record the batch's failure: Lambda resumes the shard from the first
 * failed record, so the outcome names that one's sequence number and puts of later records
 * not yet sent are not sent. Within the batch, a record equal to an earlier one is written
 * once, and of records for the same item and times only the last is sent, so puts sent in
 * parallel leave the item as sending them in order would.
 */
export async function ingestStreamBatch(
  target: StreamBatchTarget,
  event: KinesisStreamEvent,
  quarantine: QuarantineSink,
): Promise<StreamBatchOutcome> {
  const records = event.Records;
  const source = pushSource(target.registry, target.source);
  const nowMs = (target.now ?? Date.now)();
  const onlineTarget = {
    client: target.client,
    table: target.table,
    registry: target.registry,
    now: () => nowMs,
    ...(target.seqFromClock ? { seqFromClock: true } : {}),
  };
  const read = records.map((record) =>
    readStreamRecord(record, {
      registry: target.registry,
      source,
      target: onlineTarget,
      nowMs,
      maxFutureSkewSeconds: target.maxFutureSkewSeconds,
    }),
  );
  const refusedAt = read.flatMap((outcome, index) => (outcome.kind === 'rejected' ? [index] : []));

  const { sends, duplicates, superseded } = putsToSend(read);
  let firstFailed = Number.POSITIVE_INFINITY;
  const offline = target.offline;
  if (offline) {
    // Offline first, as a push: a row served online is always one training sets will see.
    const toStore = read.flatMap((outcome, record) =>
      outcome.kind === 'accepted' && !duplicates.includes(record) ? [{ outcome, record }] : [],
    );
    // Every accepted record but in-batch duplicates goes through the tiles of each tile-fed view.
    const tiles = onlineTileViews(target.registry, source.name).map((v) => v.onlineStore.keyPrefix);
    await inPool(toStore, target.concurrency ?? 16, async ({ outcome, record }) => {
      const kinesisRecord = records[record] as KinesisEventRecord;
      try {
        await offline(source, [outcome.row], {
          pushId: offlinePushId(kinesisRecord),
          tiles,
          pushedAtMs: nowMs,
        });
      } catch (error) {
        firstFailed = Math.min(firstFailed, record);
        target.onOfflineError?.(error, kinesisRecord);
      }
    });
  }
  let written = 0;
  let skippedAsOlder = 0;
  await inPool(sends, target.concurrency ?? 16, async (send) => {
    // Lambda sends this record again from the first failure on: do not write it twice.
    if (send.record >= firstFailed) return;
    try {
      const sent = await sendConditionalPuts(target.client, [send.put as ConditionalWrite], {
        ...target.writeOptions,
        concurrency: 1,
      });
      written += sent.written;
      skippedAsOlder += sent.skippedAsOlder;
    } catch (error) {
      firstFailed = Math.min(firstFailed, send.record);
      target.onWriteError?.(error, records[send.record] as KinesisEventRecord);
    }
  });

  const tileRowsAdded = await sendRecordTiles(
    target,
    read,
    duplicates,
    nowMs,
    // Staged offline with this key, so its tiles order it as its commit will (ADR 0020).
    (record) =>
      offline
        ? stagedPushKey(nowMs, offlinePushId(records[record] as KinesisEventRecord))
        : undefined,
    (record) => {
      return record < firstFailed;
    },
    (error, record) => {
      firstFailed = Math.min(firstFailed, record);
      target.onWriteError?.(error, records[record] as KinesisEventRecord);
    },
  );

  // Only records before the first failure: Lambda sends the rest again, and they are
  // quarantined by that delivery (once, with RecordsRejected counting them once).
  const rejectedAt = refusedAt.filter((index) => index < firstFailed);
  for (const index of rejectedAt) {
    const outcome = read[index];
    if (outcome?.kind !== 'rejected') continue;
    quarantine.add([
      {
        row: { kinesis: recordPosition(records[index] as KinesisEventRecord), data: outcome.data },
        reasons: [outcome.reason],
      },
    ]);
  }
  try {
    await quarantine.flush();
  } catch (error) {
    // Not stored: these records are not done, so the batch resumes at the first of them.
    target.onQuarantineError?.(error);
    for (const index of rejectedAt) firstFailed = Math.min(firstFailed, index);
  }
  const failed = Number.isFinite(firstFailed) ? records[firstFailed] : undefined;
  return {
    records: records.length,
    rejected: rejectedAt.filter((i) => i < firstFailed).length,
    duplicates: duplicates.filter((i) => i < firstFailed).length,
    superseded: superseded.filter((i) => i < firstFailed).length,
    written,
    skippedAsOlder,
    tileRowsAdded,
    retried: failed ? records.length - firstFailed : 0,
    batchItemFailures: failed ? [{ itemIdentifier: failed.kinesis.sequenceNumber }] : [],
  };
}

/**
 * The puts to send, in record order: none for a record equal to an earlier one (a duplicate),
 * and for each view item and times only the last record's put (the earlier records' puts are
 * superseded). What is left has at most one put per item and times, so the conditional puts
 * reach the same item whatever order they arrive in.
 */
function putsToSend(read: readonly ReturnType<typeof readStreamRecord>[]) {
  const seenContent = new Set<string>();
  const duplicates: number[] = [];
  const last = new Map<string, number>();
  const candidates: { record: number; put: PutItemCommand; slot: string }[] = [];
  read.forEach((outcome, record) => {
    if (outcome.kind !== 'accepted') return;
    if (seenContent.has(outcome.content)) {
      duplicates.push(record);
      return;
    }
    seenContent.add(outcome.content);
    for (const { view, put } of outcome.puts) {
      const slot = JSON.stringify([view, itemKey(put), ...times(outcome)]);
      last.set(slot, record);
      candidates.push({ record, put, slot });
    }
  });
  const sends = candidates.filter((c) => last.get(c.slot) === c.record);
  const sending = new Set(sends.map((s) => s.record));
  const superseded = read
    .map((outcome, record) => ({ outcome, record }))
    .filter(
      ({ outcome, record }) =>
        outcome.kind === 'accepted' &&
        outcome.puts.length > 0 &&
        !duplicates.includes(record) &&
        !sending.has(record),
    )
    .map(({ record }) => record);
  return { sends, duplicates, superseded };
}

function itemKey(put: PutItemCommand): string {
  const key = put.input.Item?.[itemAttributes.key]?.S;
  if (key === undefined) throw new Error('internal: a push put has no partition key');
  return key;
}

function times(record: AcceptedRecord): [string, string | null] {
  return [
    String(record.row.eventTs),
    record.row.createdTs === undefined ? null : String(record.row.createdTs),
  ];
}

/**
 * Every accepted record but duplicates into the tiles of the source's aggregation views
 * (ADR 0020), by its `<shard id>:<sequence number>` id, so a redelivered record counts once.
 * Records of one entity go one after another, in record order (they share items); a record
 * at or after a failed one is not sent (Lambda sends it again).
 */
async function sendRecordTiles(
  target: StreamBatchTarget,
  read: readonly ReturnType<typeof readStreamRecord>[],
  duplicates: readonly number[],
  nowMs: number,
  pushLogOf: (record: number) => string | undefined,
  stillToSend: (record: number) => boolean,
  failed: (error: unknown, record: number) => void,
): Promise<number> {
  const byEntity = new Map<string, { outcome: AcceptedRecord; record: number }[]>();
  read.forEach((outcome, record) => {
    if (outcome.kind !== 'accepted' || duplicates.includes(record)) return;
    if (outcome.tiles.length === 0) return;
    const entity = outcome.tiles.map((v) => v.rows[0]?.prefix).join('\n');
    byEntity.set(entity, [...(byEntity.get(entity) ?? []), { outcome, record }]);
  });
  const nowMicros = BigInt(nowMs) * 1000n;
  let added = 0;
  await inPool([...byEntity.values()], target.concurrency ?? 16, async (group) => {
    for (const { outcome, record } of group) {
      if (!stillToSend(record)) return;
      const pushLog = pushLogOf(record);
      try {
        for (const { spec, rows } of outcome.tiles)
          for (const { prefix, row } of rows) {
            const result = await applyTileRow(
              target.client,
              target.table,
              spec,
              prefix,
              pushLog === undefined ? row : { ...row, pushLog },
              nowMicros,
            );
            if (result.applied) added++;
          }
      } catch (error) {
        failed(error, record);
        return;
      }
    }
  });
  return added;
}

/** Runs `work` on every item in order, at most `limit` at a time; `work` handles its own errors. */
async function inPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** The same for every delivery of a record, so compaction keeps one copy of its row. */
function offlinePushId(record: KinesisEventRecord): string {
  const shard = record.eventID?.split(':')[0] ?? 'shard';
  return `kinesis-${shard}-${record.kinesis.sequenceNumber}`;
}
