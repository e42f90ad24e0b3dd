import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readMaterializeConfig } from '../../lambdas/materialize/config.ts';
import { createMaterializeHandler } from '../../lambdas/materialize/handler.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { materializerRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { athenaOnDuckdbSql } from '../helpers/athena-on-duckdb-sql.ts';
import { copyLocalStoreToBucket } from '../helpers/local-store-on-bucket.ts';
import { ingestBesideBatchRecords } from '../helpers/many-batch-records.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';
import { shippedRangesOnDuckdb } from '../helpers/tile-base-ranges-on-duckdb.ts';
import { tileEnvironment } from '../helpers/tile-materialization-environment.ts';
import { minute, rowsBetween, second, t0 } from '../helpers/tile-payment-rows.ts';
import {
  ingestWithK1OutsideWindow,
  k1TileItems,
  writeStaleK1Base,
} from '../helpers/tile-stale-base.ts';

let dynamo: LocalDynamo;
let bucket: MemoryBucket;
let session: Awaited<ReturnType<typeof openDuckdb>>;
let rangesDir: string;
/** The ranges tile base queries shipped as data, read on DuckDB. */
const shipped = shippedRangesOnDuckdb(
  () => bucket.objects,
  () => rangesDir,
);
// Small pages and one entity per chunk: a run's base rows span pages and chunks.
const athena = athenaOnDuckdbSql({
  connection: () => session.connection as DuckDBConnection,
  pageRows: 7,
});
/** The tile base queries sent: the source's rows of the run's entities. */
const baseQueries = () =>
  athena.queries.filter((sql) => sql.includes(') fstore_run) fstore_entities'));

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  dynamo = await startDynalite();
  bucket = await startMemoryBucket('fstore-offline');
  session = await openDuckdb();
  rangesDir = await mkdtemp(path.join(tmpdir(), 'fstore-tile-ranges-'));
});
afterAll(async () => {
  athena.restore();
  session.close();
  await bucket.close();
  await dynamo.close();
  await rm(rangesDir, { recursive: true, force: true });
});
beforeEach(() => {
  athena.install();
  athena.queries.length = 0;
  bucket.objects.clear();
  shipped.keys.length = 0;
});

/**
 * The tile-consistency environment (local offline store, dynalite, pushes, the training set)
 * materialized by the AWS materializer Lambda instead: its commit records (and files) copied to
 * the loopback bucket as S3 lays them out, read there by the Lambda (s3IngestLog,
 * s3IngestRecords), and its Athena queries, rendered in DuckDB's dialect, run on DuckDB over
 * the store those records commit.
 */
async function awsEnvironment() {
  const env = await tileEnvironment(dynamo);
  const registry = materializerRegistryProjection(env.fixture.registry);
  const materializeOnAws = async (
    at: bigint,
    beforeToken?: () => void,
    event: { full?: true } = {},
  ) => {
    await copyLocalStoreToBucket(env.fixture.dataDir, bucket.objects);
    const handler = createMaterializeHandler({
      registry,
      dynamo: env.client,
      athena: athena.client(),
      s3: memoryBucketClient(bucket),
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      config: readMaterializeConfig({
        TABLE_NAME: env.table,
        ATHENA_WORKGROUP: 'fstore-dev',
        ATHENA_DATABASE: 'fstore_dev',
        OFFLINE_BUCKET: bucket.name,
        CHUNK_ROWS: '1',
      }),
      // The queries as DuckDB runs them over the local store the bucket's records commit.
      dialect: duckdbDialect(offlineRoot(env.fixture.dataDir, 'local')),
      metrics: new Metrics({ namespace: 'fstore-test', serviceName: 'materialize' }),
      now: () => Number(at / 1000n),
      sleep: async () => {},
      ...(beforeToken ? { tileBaseBeforeToken: beforeToken } : {}),
      tileBaseRangesRelation: shipped.relation,
    });
    return handler({ view: 'spend', ...event }, {
      functionName: 'fstore-dev-materialize',
      awsRequestId: `req-${Math.random()}`,
      getRemainingTimeInMillis: () => 600_000,
    } as never);
  };
  return { ...env, materializeOnAws };
}

describe('the AWS materializer writes the tiles of a tile-fed view from Athena (issue 20)', () => {
  it('answers lookups bit for bit as the training set at random instants over batch-ingested and pushed rows, with one base query per run', async () => {
    const env = await awsEnvironment();
    const prng = new Prng(2021);
    const taken = new Set<string>();
    const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
    let after = t0 - 35n * 1440n * minute;
    const rounds = 6;
    const seen = new Set<string>();
    const recordGets: { old: number; all: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      const gap = [30n * second, 7n * minute, 3n * 60n * minute][round % 3] ?? minute;
      const at = after + gap + BigInt(prng.int(1, 999_999));
      await env.fixture.ingest('payments', rowsBetween(prng, after, at, prng.int(2, 8), taken));
      await env.push(at, rowsBetween(prng, after, at, prng.int(1, 4), taken));
      // On AWS staged pushes are ingested by compaction, not by the run: every other round.
      if (round % 2 === 0)
        await compactPushLogs({
          registry: env.fixture.registry,
          dataDir: env.fixture.dataDir,
          env: 'local',
        });
      bucket.requests.length = 0;
      expect(await env.materializeOnAws(at)).toMatchObject({ status: 'succeeded' });
      const records = [...bucket.objects.keys()].filter((k) => k.startsWith('offline/_ingests/'));
      recordGets.push({
        old: bucket.requests.filter((r) => seen.has(r.slice('GET '.length))).length,
        all: records.length,
      });
      for (const key of records) seen.add(key);
      await env.push(at, rowsBetween(prng, after, at, prng.int(0, 3), taken));
      const lastLookup = at + gap;
      const instants = Array.from(
        { length: 4 },
        () => at + BigInt(Math.floor(prng.next() * Number(lastLookup - at))),
      ).map((t) => t - (t % 1000n));
      for (const instant of instants)
        for (const cached of [false, true])
          lookups.push(...env.lookupRecords(instant, await env.lookupAt(instant, cached)));
      after = lastLookup;
    }
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
    const filled = lookups.filter((o) => (o.values.amount_count_30d as number) > 0).length;
    expect(filled).toBeGreaterThan(lookups.length / 2);
    // Per run one query for the rows and one for every base (over 3 chunks, several pages):
    // not one per chunk or entity.
    expect(baseQueries()).toHaveLength(rounds);
    expect(athena.queries).toHaveLength(2 * rounds);
    // After the first run, a run GETs no commit record an earlier run read (the tile base takes
    // them from the summary, the ingest log settles them), however many the source holds.
    expect(recordGets.map((r) => r.old)).toEqual(recordGets.map(() => 0));
    expect(recordGets.at(-1)?.all).toBeGreaterThanOrEqual(rounds);
  }, 600_000);

  it('writes nothing when the same run is repeated', async () => {
    const env = await awsEnvironment();
    const prng = new Prng(7);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 2n * 1440n * minute, at, 12, taken),
    );
    expect(await env.materializeOnAws(t0)).toMatchObject({ status: 'succeeded' });
    const written = await env.tileItems();
    expect(written.size).toBeGreaterThan(10);
    // A full run again reads every entity and its bases: every item already holds them.
    expect(await env.materializeOnAws(t0 + second, undefined, { full: true })).toMatchObject({
      status: 'succeeded',
      counts: { rowsRead: 3 },
    });
    expect(baseQueries()).toHaveLength(2);
    expect(await env.tileItems()).toEqual(written);
    const values = await env.lookupAt(t0, false);
    expect(await env.mismatches(env.lookupRecords(t0, values))).toEqual([]);
    expect(values.every((v) => (v.amount_count_1d as number) > 0)).toBe(true);
  }, 120_000);

  it('completes a run that died between its tile writes and the write token: the rerun renews the token', async () => {
    const env = await awsEnvironment();
    const prng = new Prng(11);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.push(at, rowsBetween(prng, at - 20n * minute, at, 6, taken));
    // The first lookup through a cache only sees the token; the second caches the items.
    await env.lookupAt(t0, true);
    const before = await env.lookupAt(t0, true);
    await env.fixture.ingest('payments', rowsBetween(prng, at - 20n * minute, at, 9, taken));
    await expect(
      env.materializeOnAws(at, () => {
        throw new Error('killed before renewing the write token');
      }),
    ).rejects.toThrow(/killed before renewing/);
    expect(await env.lookupAt(t0, false)).not.toEqual(before);
    expect(await env.lookupAt(t0, true)).toEqual(before);

    expect(await env.materializeOnAws(at)).toMatchObject({ status: 'succeeded' });
    const cached = await env.lookupAt(t0, true);
    expect(cached).toEqual(await env.lookupAt(t0, false));
    expect(await env.mismatches(env.lookupRecords(t0, cached))).toEqual([]);
  }, 120_000);

  it('clears the stale base of an entity none of whose rows is in the widest window any more', async () => {
    const env = await awsEnvironment();
    const prng = new Prng(13);
    const at = t0 - 5n * minute;
    await ingestWithK1OutsideWindow(env, prng, at);
    await writeStaleK1Base(env, prng, at);
    expect((await env.lookupAt(at, false))[0]?.amount_count_30d).toBe(8);

    expect(await env.materializeOnAws(at)).toMatchObject({ status: 'succeeded' });
    const k1 = await k1TileItems(env);
    expect(k1.length).toBeGreaterThan(0);
    for (const item of k1) expect(item.br ?? item.bt).toBeUndefined();
    const values = await env.lookupAt(at, false);
    expect(values[0]?.amount_count_30d).toBe(0);
    expect(await env.mismatches(env.lookupRecords(at, values))).toEqual([]);
  }, 120_000);

  it('answers lookups bit for bit on a source with 4,500 batch ingests, whose ranges it ships as data instead of being refused', async () => {
    const env = await awsEnvironment();
    const prng = new Prng(17);
    const at = t0 - 5n * minute;
    await ingestBesideBatchRecords(env, prng, at, bucket.objects, 4_500);
    expect(await env.materializeOnAws(at)).toMatchObject({ status: 'succeeded' });
    expect(shipped.keys).toHaveLength(1);
    const lines = bucket.objects
      .get(shipped.keys[0] ?? '')
      ?.toString()
      .trim()
      .split('\n');
    expect(lines?.length).toBeGreaterThan(4_500);
    const [base] = baseQueries();
    expect(base).toContain('fstore_ranges');
    expect(base?.length).toBeLessThan(60_000);
    const values = await env.lookupAt(at, false);
    expect(values.some((v) => (v.amount_count_1d as number) > 0)).toBe(true);
    expect(await env.mismatches(env.lookupRecords(at, values))).toEqual([]);
  }, 300_000);
});
