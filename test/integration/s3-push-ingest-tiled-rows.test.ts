import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tileBaseSequence } from '../../lib/materialize/tile-base-writer.ts';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { type IngestRecord, tiledRowsByViewMarker } from '../../lib/offline/ingest-manifest.ts';
import { ingestS3PushStaging } from '../../lib/offline/s3-push-ingest.ts';
import { firehoseRecords } from '../../lib/push/firehose-records.ts';
import { stagingColumns } from '../../lib/push/firehose-staging.ts';
import { pushRegistry } from '../helpers/push-registry.ts';
import { tiledSeqRanges as olderTiledSeqRanges } from '../helpers/release-7ba226c/tiled-push-rows.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';
import { stagePushObject } from '../helpers/staged-push-objects.ts';

const registry = pushRegistry();
let bucket: MemoryBucket;
let s3: S3Client;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket', { pageSize: 3 });
  s3 = memoryBucketClient(bucket);
  duckdb = await openDuckdb();
  scratch = await makeTempDir('s3-push-ingest-tiled');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => {
  bucket.objects.clear();
  bucket.modified.clear();
});

const spendPrefix = 'spend#0123456789ab';
const otherPrefix = 'spend_twin#ba9876543210';
const id = (n: number) => n.toString(16).padStart(32, '0');
const stage = (name: string, rows: Parameters<typeof stagePushObject>[3]) =>
  stagePushObject({ bucket, duckdb: duckdb.connection, scratch }, 'payments', name, rows);
const records = () =>
  [...bucket.objects.entries()]
    .filter(([key]) => key.startsWith('offline/_ingests/payments/'))
    .map(([, body]) => JSON.parse(body.toString('utf8')) as IngestRecord);

describe('staged pushes on AWS: the commit record names the rows pushes applied to tiles (ADR 0020)', () => {
  it('records the tiled runs in arrival order, duplicates left out, and objects staged before the flag as tiled', async () => {
    await stage('a', [
      { pushId: id(1), customer: 'K1', tiled: true },
      { pushId: id(2), customer: 'K2', tiled: false },
      { pushId: id(3), customer: 'K3', tiled: null },
    ]);
    // Row 1 of push 2 again (a Firehose redelivery): kept once.
    await stage('b', [
      { pushId: id(4), customer: 'K1', tiled: false },
      { pushId: id(2), customer: 'K2', tiled: false },
    ]);
    await stage('c', [{ pushId: id(5), customer: 'K2' }]);
    const result = await ingestS3PushStaging({
      s3,
      bucket: bucket.name,
      registry,
      source: 'payments',
      workDir: scratch,
    });
    expect(result).toMatchObject({ objects: 3, rows: 5 });
    const [record] = records();
    expect(record?.rows).toBe(5);
    // Rows in order: 1 (tiled), 2 (not), 3 (NULL: tiled), 4 (not), the copy of 2 dropped, 5 (old object).
    expect(record?.pushTiledRows).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    const first = BigInt(record?.firstSeq ?? 0);
    expect(tileBaseSequence(records(), 'payments', spendPrefix)?.pushRanges).toEqual([
      [first, first],
      [first + 2n, first + 2n],
      [first + 4n, first + 4n],
    ]);
  });

  it('records the runs of each view version a row names, rows naming none by their flag, and gives each version its own', async () => {
    await stage('a', [
      { pushId: id(1), customer: 'K1', tiled: true, tiles: [spendPrefix, otherPrefix] },
      { pushId: id(2), customer: 'K2', tiled: true, tiles: [otherPrefix] },
      { pushId: id(3), customer: 'K3', tiled: false, tiles: [] },
      { pushId: id(4), customer: 'K1', tiled: true, tiles: [spendPrefix] },
    ]);
    // Staged before the list: its flag (NULL: staged before the flag too) says every version.
    await stage('b', [{ pushId: id(5), customer: 'K2', tiled: null }]);
    await stage('c', [{ pushId: id(6), customer: 'K3', tiled: false }]);
    await ingestS3PushStaging({
      s3,
      bucket: bucket.name,
      registry,
      source: 'payments',
      workDir: scratch,
    });
    const [record] = records();
    expect(record?.rows).toBe(6);
    // pushTiledRows is the marker a release before the per-view mark refuses (ADR 0020,
    // "Rollback and mixed versions"): an older Lambda writes no base from this record.
    expect(record?.pushTiledRows).toBe(tiledRowsByViewMarker);
    expect(() => olderTiledSeqRanges(record as never, 'payments')).toThrow(
      /holds pushTiledRows "by view version.*no tile base is written from it/,
    );
    expect(record?.pushTiledRowsEvery).toEqual([[4, 5]]);
    expect(record?.pushTiledRowsByView).toEqual({
      [spendPrefix]: [
        [0, 1],
        [3, 4],
      ],
      [otherPrefix]: [[0, 2]],
    });
    const first = BigInt(record?.firstSeq ?? 0);
    const seqs = (prefix: string) => tileBaseSequence(records(), 'payments', prefix)?.pushRanges;
    expect(seqs(spendPrefix)).toEqual([
      [first, first],
      [first + 3n, first + 4n],
    ]);
    expect(seqs(otherPrefix)).toEqual([
      [first, first + 1n],
      [first + 4n, first + 4n],
    ]);
    // A view version no push wrote to: only the rows tiled for every version are left out.
    expect(seqs('spend#ffffffffffff')).toEqual([[first + 4n, first + 4n]]);
  });

  it('records no tiled row when every push was to the offline store only', async () => {
    await stage('a', [
      { pushId: id(7), customer: 'K1', tiled: false },
      { pushId: id(8), customer: 'K2', tiled: false },
    ]);
    await ingestS3PushStaging({
      s3,
      bucket: bucket.name,
      registry,
      source: 'payments',
      workDir: scratch,
    });
    expect(records()[0]?.pushTiledRows).toEqual([]);
  });
});

describe('a staged record', () => {
  const source = registry.sources.find((s) => s.name === 'payments');
  it('carries the tile prefixes its push applied it to, and the flag, as columns of the staging table, null when not known', () => {
    expect(stagingColumns(source as never).slice(-3, -1)).toEqual([
      { name: 'fstore_push_tiled', type: 'boolean' },
      { name: 'fstore_push_tiles', type: 'array<string>' },
    ]);
    const row = { index: 0, values: { customer_id: 'K1', event_ts: '2026-03-01T00:00:00Z' } };
    const [untiled] = firehoseRecords(source as never, [row as never], {
      pushId: id(1),
      tiles: [],
    });
    const [tiled] = firehoseRecords(source as never, [row as never], {
      pushId: id(1),
      tiles: [spendPrefix],
    });
    const [unknown] = firehoseRecords(source as never, [row as never], { pushId: id(1) });
    expect(JSON.parse(untiled as string)).toMatchObject({
      fstore_push_tiled: false,
      fstore_push_tiles: [],
    });
    expect(JSON.parse(tiled as string)).toMatchObject({
      fstore_push_tiled: true,
      fstore_push_tiles: [spendPrefix],
    });
    expect(JSON.parse(unknown as string)).toMatchObject({
      fstore_push_tiled: null,
      fstore_push_tiles: null,
    });
  });
});
