import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SeqRange } from '../seq-ranges.ts';
import { quoteIdentifier } from '../sql/dialect.ts';
import { seqBucketRows } from '../sql/seq-buckets.ts';

/**
 * Where a tile base query's counted `fstore_seq` ranges are shipped as data when naming them
 * in its text would make it too long (ADR 0020, "Bounded query text"): one CSV object per query
 * under `<prefix><run id>/`, outside `offline/` (no reader of records or data objects meets it),
 * expired by a lifecycle rule (lib/constructs/offline-store.ts).
 */
export const tileBaseRangesPrefix = 'tile-base-ranges/';

/** The Glue table over those objects, partitioned by an injected `run`. */
export const tileBaseRangesTable = 'fstore_tile_base_ranges';

/**
 * Ranges up to this many are named in the query text (at ~66 bytes each, well below Athena's
 * 262,144 bytes beside a run query); more are joined from a table.
 */
export const maxRangesInText = 1_000;

/** Ships counted ranges as data: returns a SQL relation of `fstore_bucket, fstore_first, fstore_last`. */
export interface TileBaseRangesTable {
  ship(ranges: readonly SeqRange[]): Promise<string>;
}

/**
 * The ranges written to `s3://<bucket>/tile-base-ranges/<run id>/ranges.csv` and read by
 * `relation` (the Athena table by default; tests read the object on DuckDB).
 */
export function s3TileBaseRanges(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly relation: (run: string, key: string) => string;
  readonly signal?: AbortSignal;
}): TileBaseRangesTable {
  return {
    async ship(ranges) {
      const run = randomUUID();
      const key = `${tileBaseRangesPrefix}${run}/ranges.csv`;
      await options.s3.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: key,
          Body: seqBucketRows(ranges),
          ContentType: 'text/csv',
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      return options.relation(run, key);
    },
  };
}

/** The Glue table's partition of one run, in Athena's SQL. */
export function athenaTileBaseRangesRelation(database: string, run: string): string {
  if (!/^[0-9a-f-]{36}$/.test(run)) throw new Error(`internal: tile base ranges run ${run}`);
  return `(SELECT fstore_bucket, fstore_first, fstore_last FROM ${quoteIdentifier(database)}.${quoteIdentifier(tileBaseRangesTable)} WHERE run = '${run}')`;
}
