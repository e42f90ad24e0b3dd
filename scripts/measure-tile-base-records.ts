/**
 * The figures of ADR 0020 ("Where"): for a source of RECORDS (default 50,000) S3 commit records
 * (a tiled push batch a minute, a batch ingest every BATCH_EVERY records, default 60: hourly),
 * the GetObject calls and time of two reads of the records on the loopback S3 (the first
 * without a summary, the second after 60 more records), the summary's size, and the bytes of
 * the tile base query's `fstore_seq` condition in the former form (every record read, AND NOT
 * every tiled range) and as named in the text; then the whole base query of `spend` in Athena's
 * SQL with its counted ranges named in the text and shipped as data (the CSV object and the time
 * to put it on the loopback S3), and both forms run on DuckDB over one row per record (120 rows
 * a record are numbered, one is stored). `npx tsx scripts/measure-tile-base-records.ts`.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingestRecordsSummaryKey } from '../lib/materialize/ingest-records-summary.ts';
import { plannedOnlineView } from '../lib/materialize/materialize-view.ts';
import { readS3IngestRecords } from '../lib/materialize/s3-ingest-records.ts';
import {
  athenaTileBaseRangesRelation,
  s3TileBaseRanges,
} from '../lib/materialize/tile-base-ranges.ts';
import { tileBaseSequence } from '../lib/materialize/tile-base-writer.ts';
import { openDuckdb } from '../lib/offline/duckdb-session.ts';
import { viewTileSpec } from '../lib/online/aggregation-tiles/view-tile-spec.ts';
import { subtractSeqRanges } from '../lib/seq-ranges.ts';
import { athenaDialect } from '../lib/sql/athena-dialect.ts';
import { athenaQueryBytes, maxAthenaQueryBytes } from '../lib/sql/athena-query-size.ts';
import { duckdbDialect } from '../lib/sql/duckdb-dialect.ts';
import { renderTileBaseRows } from '../lib/sql/render-tile-base-rows.ts';
import { memoryBucketClient, startMemoryBucket } from '../test/helpers/s3-memory-bucket.ts';
import { putSyntheticIngestRecords } from '../test/helpers/synthetic-ingest-records.ts';
import { duckdbTileBaseRanges } from '../test/helpers/tile-base-ranges-on-duckdb.ts';
import { tileRegistry } from '../test/helpers/tile-registry.ts';

const count = Number(process.env.RECORDS ?? 50_000);
const batchEvery = Number(process.env.BATCH_EVERY ?? 60);
const minute = 60_000 * 1_048_576;
const start = Date.parse('2026-01-01T00:00:00Z') * 1_048_576;

const bucket = await startMemoryBucket('fstore-offline');
putSyntheticIngestRecords(bucket.objects, 0, count, batchEvery);
const client = memoryBucketClient(bucket);
const gets = () => bucket.requests.filter((r) => r.startsWith('GET ')).length;

async function timedRead() {
  bucket.requests.length = 0;
  const began = performance.now();
  const read = await readS3IngestRecords(client, bucket.name, 'payments');
  return { read, gets: gets(), seconds: (performance.now() - began) / 1000 };
}

const first = await timedRead();
putSyntheticIngestRecords(bucket.objects, count, count + 60, batchEvery);
const second = await timedRead();
const sequence = tileBaseSequence(second.read.records, 'payments', 'spend#1');
if (!sequence) throw new Error('no records');
const between = ([a, b]: readonly [bigint, bigint]) => `fstore_seq BETWEEN ${a} AND ${b}`;
const formerBytes =
  `  AND (${sequence.readRanges.map(between).join(' OR ')})\n  AND NOT (${sequence.pushRanges.map(between).join(' OR ')})`
    .length;
const counted = subtractSeqRanges(sequence.readRanges, sequence.pushRanges);
const nowBytes = `  AND (${counted.map(between).join(' OR ')})`.length;
const recordBytes = [...bucket.objects.entries()]
  .filter(([key]) => key !== ingestRecordsSummaryKey('payments'))
  .reduce((n, [, b]) => n + b.length, 0);
const query = await measureBaseQuery(sequence, counted);
console.log(
  JSON.stringify({
    records: count,
    batch_every: batchEvery,
    first_read: { gets: first.gets, seconds: +first.seconds.toFixed(1), ...omitRecords(first) },
    second_read: {
      gets: second.gets,
      seconds: +second.seconds.toFixed(1),
      ...omitRecords(second),
    },
    record_bytes: recordBytes,
    summary_bytes: bucket.objects.get(ingestRecordsSummaryKey('payments'))?.length,
    seq_condition_bytes_former: formerBytes,
    seq_condition_bytes_now: nowBytes,
    ranges_former: sequence.readRanges.length + sequence.pushRanges.length,
    ranges_now: counted.length,
    base_query: query,
  }),
);
await bucket.close();

/** The base query's bytes and DuckDB run time with the ranges named and shipped. */
async function measureBaseQuery(
  base: NonNullable<ReturnType<typeof tileBaseSequence>>,
  ranges: readonly (readonly [bigint, bigint])[],
) {
  const registry = tileRegistry();
  const { planned } = plannedOnlineView(registry, 'spend');
  const spec = viewTileSpec(registry, plannedOnlineView(registry, 'spend').view);
  if (!spec) throw new Error('spend is tile-fed');
  const form = {
    entities: { sql: "SELECT customer_id FROM (VALUES ('K1'), ('K2')) e(customer_id)" },
    afterMicros: 0n,
    maxSeq: base.maxSeq,
    includedSeqRanges: base.readRanges,
    excludedSeqRanges: base.pushRanges,
    columns: spec.columnTypes,
  };
  const athenaSql = (relation?: string) =>
    renderTileBaseRows(planned, athenaDialect('fstore_prod'), {
      ...form,
      ...(relation ? { countedRangesRelation: relation } : {}),
    });
  const shipBegan = performance.now();
  let run = '';
  let key = '';
  const relation = await s3TileBaseRanges({
    s3: client,
    bucket: bucket.name,
    relation: (r, k) => {
      run = r;
      key = k;
      return athenaTileBaseRangesRelation('fstore_prod', r);
    },
  }).ship(ranges);
  const shipSeconds = (performance.now() - shipBegan) / 1000;
  const csv = bucket.objects.get(key) ?? Buffer.alloc(0);
  const session = await openDuckdb();
  const dir = await mkdtemp(path.join(tmpdir(), 'fstore-measure-'));
  try {
    await session.connection.run(
      `CREATE TABLE src AS SELECT CASE WHEN i % 2 = 0 THEN 'K1' ELSE 'K2' END AS customer_id, 1::BIGINT AS account_id, 1.5::DOUBLE AS amount, 'ok' AS status, FALSE AS flagged, NULL::FLOAT[] AS scores, TIMESTAMP '2026-01-01 00:00:00' + INTERVAL (i) MINUTE AS event_ts, NULL::TIMESTAMP AS created_ts, ${start}::BIGINT + i * ${minute}::BIGINT AS fstore_seq FROM range(${count + 60}) t(i)`,
    );
    const duckdb = { ...duckdbDialect('/offline'), sourceRelation: () => 'src' };
    const duckdbSql = (shipped?: string) =>
      renderTileBaseRows(planned, duckdb, {
        ...form,
        ...(shipped ? { countedRangesRelation: shipped } : {}),
      });
    const timed = async (sql: string) => {
      const began = performance.now();
      const rows = (await session.connection.runAndReadAll(sql)).getRows().length;
      return { rows, seconds: +((performance.now() - began) / 1000).toFixed(2) };
    };
    const named = await timed(duckdbSql());
    const joined = await timed(duckdbSql(duckdbTileBaseRanges(dir, run, csv)));
    return {
      named_bytes: athenaQueryBytes(athenaSql()),
      shipped_bytes: athenaQueryBytes(athenaSql(relation)),
      athena_limit_bytes: maxAthenaQueryBytes,
      csv_bytes: csv.length,
      csv_lines: csv.toString().split('\n').length - 1,
      ship_seconds: +shipSeconds.toFixed(2),
      duckdb_named: named,
      duckdb_shipped: joined,
    };
  } finally {
    session.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function omitRecords(timed: Awaited<ReturnType<typeof timedRead>>) {
  const { records: _records, ...rest } = timed.read;
  return rest;
}
