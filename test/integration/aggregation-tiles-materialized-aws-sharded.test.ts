import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readRunControllerConfig } from '../../lambdas/materialize-run/config.ts';
import { createRunControllerHandler } from '../../lambdas/materialize-run/handler.ts';
import { readShardWriterConfig } from '../../lambdas/materialize-shard/config.ts';
import { createShardWriterHandler } from '../../lambdas/materialize-shard/handler.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { ingestRecordsSummaryKey } from '../../lib/materialize/ingest-records-summary.ts';
import { MaterializationStateStore } from '../../lib/materialize/materialization-state.ts';
import { ShardStateStore } from '../../lib/materialize/shard-state.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { materializerRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { athenaOnDuckdbSql } from '../helpers/athena-on-duckdb-sql.ts';
import { copyLocalStoreToBucket } from '../helpers/local-store-on-bucket.ts';
import { ingestBesideBatchRecords } from '../helpers/many-batch-records.ts';
import { keyPrefixOf } from '../helpers/materialize-harness.ts';
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
// Small pages: a shard's base rows span pages.
const athena = athenaOnDuckdbSql({
  connection: () => session.connection as DuckDBConnection,
  pageRows: 3,
  unloadTo: {
    get name() {
      return bucket.name;
    },
    get objects() {
      return bucket.objects;
    },
  },
});
/** The shards' tile base queries sent (every entity of the shard, outer-joined). */
const baseQueries = () => athena.queries.filter((sql) => sql.includes(') fstore_base\nRIGHT JOIN'));
const shards = 3;
let rangesDir: string;
/** The ranges the shards' base queries shipped as data, read on DuckDB. */
const shipped = shippedRangesOnDuckdb(
  () => bucket.objects,
  () => rangesDir,
);

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

type Item = { view: string; runId: string; owner: string; shard: number; unloadPrefix: string };
type Step = Record<string, unknown> & { items: Item[]; runId: string; owner: string };

/**
 * The tile-consistency environment (ADR 0020) materialized by the sharded AWS flow (ADR 0022):
 * the run controller's steps and the shard writers, as the state machine calls them, on
 * dynalite and the loopback bucket (the local store's commit records and files copied there),
 * every Athena query (the UNLOAD, the shards' base queries) rendered in DuckDB's dialect and
 * run on DuckDB over the store those records commit.
 */
async function shardedEnvironment() {
  const env = await tileEnvironment(dynamo);
  const registry = materializerRegistryProjection(env.fixture.registry);
  const dialect = duckdbDialect(offlineRoot(env.fixture.dataDir, 'local'));
  const s3 = memoryBucketClient(bucket);
  const metrics = () => {
    const m = new Metrics({ namespace: 'fstore-test', serviceName: 'materialize' });
    vi.spyOn(m, 'publishStoredMetrics').mockImplementation(() => m);
    return m;
  };
  let executions = 0;
  const refusals: string[] = [];
  const context = (remainingMs: number) =>
    ({
      getRemainingTimeInMillis: () => remainingMs,
      functionName: 'f',
      awsRequestId: 'r',
    }) as never;
  const handlers = (
    at: bigint,
    beforeToken?: () => void,
    withAthena = true,
    controllerEnv: Record<string, string> = {},
  ) => {
    const now = () => Number(at / 1000n);
    const controller = createRunControllerHandler({
      registry,
      dynamo: env.client,
      athena: athena.client(),
      s3,
      dialect,
      metrics: metrics(),
      now,
      config: readRunControllerConfig({
        TABLE_NAME: env.table,
        ATHENA_WORKGROUP: 'fstore-dev',
        ATHENA_DATABASE: 'fstore_dev',
        OFFLINE_BUCKET: bucket.name,
        SHARDS: String(shards),
        MIN_ROWS: '0',
        ...controllerEnv,
      }),
    });
    const writer = createShardWriterHandler({
      registry,
      dynamo: env.client,
      s3,
      athena: athena.client(),
      dialect,
      metrics: metrics(),
      now,
      sleep: async () => {},
      ...(beforeToken ? { tileBaseBeforeToken: beforeToken } : {}),
      tileBaseRangesRelation: shipped.relation,
      config: readShardWriterConfig({
        TABLE_NAME: env.table,
        OFFLINE_BUCKET: bucket.name,
        ...(withAthena ? { ATHENA_WORKGROUP: 'fstore-dev', ATHENA_DATABASE: 'fstore_dev' } : {}),
        CHUNK_ROWS: '1',
        SAFETY_MARGIN_MS: '60000',
      }),
    });
    return {
      step: (event: unknown) => controller(event, context(60_000)) as Promise<Step>,
      write: (item: Item, remainingMs: number) =>
        writer(item, context(remainingMs)) as Promise<Record<string, unknown>>,
    };
  };

  /**
   * One execution of the state machine at `at`: start, the UNLOAD polled until recorded, the
   * map (each shard invoked again while it pauses; `remainingMs` under the safety margin pauses
   * it at every checkpoint), then finish, or fail as the machine's catch does.
   */
  const runSharded = async (
    at: bigint,
    options: {
      remainingMs?: number;
      beforeToken?: () => void;
      full?: true;
      /** The shards run at once, as the map starts them, each held at its summary read until all are there. */
      together?: true;
      /** The records step reads this many records a page and stops after each (its margin unmet). */
      summaryPageRecords?: number;
    } = {},
  ) => {
    await copyLocalStoreToBucket(env.fixture.dataDir, bucket.objects);
    const { step, write } = handlers(
      at,
      options.beforeToken,
      true,
      options.summaryPageRecords
        ? { SUMMARY_PAGE_RECORDS: String(options.summaryPageRecords), SAFETY_MARGIN_MS: '120000' }
        : {},
    );
    // Before the start, the same records step without a run (as the state machine's loop).
    const recordsBefore = bucket.requests.length;
    let summaryStepsBeforeStart = 0;
    while (summaryStepsBeforeStart < 100) {
      summaryStepsBeforeStart++;
      const summary = await step({ action: 'records', view: 'spend' });
      if (summary.done === true) break;
    }
    const startBefore = bucket.requests.length;
    const started = await step({
      action: 'start',
      view: 'spend',
      execution: `exec-${++executions}`,
      ...(options.full ? { full: true } : {}),
    });
    expect(started.mode).toBe('sharded');
    const ref = { view: 'spend', runId: started.runId, owner: started.owner };
    const startRequests = bucket.requests.length;
    // A tile-fed run brings the source's commit records summary up to date before the map,
    // invoked again while it reports more records to read (as the state machine's loop does).
    let summarySteps = 0;
    if (started.tiles)
      while (summarySteps < 100) {
        summarySteps++;
        const summary = await step({ action: 'records', ...ref });
        if (summary.done === true) break;
      }
    if (started.unload)
      expect(
        await step({ action: 'poll', queryExecutionId: started.queryExecutionId, ...ref }),
      ).toMatchObject({ state: 'SUCCEEDED' });
    const mapRequests = bucket.requests.length;
    let invocations = 0;
    // Every shard runs (the map's iterations are independent); one that fails fails the map.
    const failures: unknown[] = [];
    const writeShard = async (item: Item) => {
      try {
        for (;;) {
          invocations++;
          const result = await write(item, options.remainingMs ?? 600_000);
          if (result.status === 'done') break;
        }
      } catch (error) {
        failures.push(error);
      }
    };
    if (options.together) {
      const summary = ingestRecordsSummaryKey('payments');
      let waiting: (() => void)[] = [];
      bucket.beforeRequest = (method, key) => {
        if (method !== 'GET' || key !== summary || waiting.length >= shards) return undefined;
        return new Promise((resolve) => {
          waiting.push(() => resolve(undefined));
          if (waiting.length === shards) for (const release of waiting) release();
        });
      };
      try {
        await Promise.all(started.items.map(writeShard));
      } finally {
        bucket.beforeRequest = undefined;
        waiting = [];
      }
    } else for (const item of started.items) await writeShard(item);
    if (failures.length > 0) {
      const [error] = failures;
      // The map failed, so the machine records the failure; a finish asked now must refuse.
      await step({ action: 'finish', ...ref }).then(
        () => refusals.push('finished'),
        (refusal: Error) => refusals.push(refusal.message),
      );
      await step({ action: 'fail', ...ref, error: String(error) });
      throw error;
    }
    const finished = await step({ action: 'finish', ...ref });
    return {
      started,
      finished,
      invocations,
      summarySteps,
      summaryStepsBeforeStart,
      // The bucket requests of the steps before the start, of the start step, of the steps
      // before the map, and of the map.
      requests: {
        beforeStart: bucket.requests.slice(recordsBefore, startBefore),
        start: bucket.requests.slice(startBefore, startRequests),
        beforeMap: bucket.requests.slice(startRequests, mapRequests),
        map: bucket.requests.slice(mapRequests),
      },
    };
  };
  const state = () =>
    new MaterializationStateStore(
      env.client,
      env.table,
      keyPrefixOf(env.fixture.registry, 'spend'),
    ).read();
  const shardProgress = () =>
    new ShardStateStore(env.client, env.table, keyPrefixOf(env.fixture.registry, 'spend')).read();
  return { ...env, runSharded, state, shardProgress, refusals, handlers };
}

/** Batch ingests of 2 rows, one an hour, for the `hours` hours before `at`: a record each. */
async function ingestHourly(
  env: Awaited<ReturnType<typeof shardedEnvironment>>,
  prng: Prng,
  taken: Set<string>,
  at: bigint,
  hours: number,
) {
  for (let hour = hours; hour > 0; hour--)
    await env.fixture.ingest(
      'payments',
      rowsBetween(
        prng,
        at - BigInt(hour) * 60n * minute,
        at - BigInt(hour - 1) * 60n * minute,
        2,
        taken,
      ),
    );
}
const recordKeys = () =>
  [...bucket.objects.keys()].filter((key) => key.startsWith('offline/_ingests/payments/'));
const getsOf = (requests: readonly string[], key: string) =>
  requests.filter((request) => request === `GET ${key}`).length;

describe('sharded AWS runs write the tile bases of a tile-fed view (issue 20, ADR 0022)', () => {
  it('answers lookups bit for bit as the training set at random instants over batch-ingested and pushed rows, with one base query per shard and run', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(2022);
    const taken = new Set<string>();
    const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
    let after = t0 - 35n * 1440n * minute;
    const rounds = 4;
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
      const { finished } = await env.runSharded(at);
      expect(finished).toMatchObject({ status: 'succeeded' });
      // The first run backfills every entity's base; the mark keeps later runs incremental.
      expect(finished.scope).toMatchObject(
        round === 0
          ? { kind: 'full', reason: 'first run' }
          : { kind: expect.stringMatching(/^(incremental|full)$/) },
      );
      expect((await env.state()).tileBases).toBe(true);
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
    // Per run one UNLOAD and one base query per shard: not one per chunk or entity.
    expect(baseQueries()).toHaveLength(rounds * shards);
    expect(athena.queries.filter((sql) => sql.startsWith('UNLOAD ('))).toHaveLength(rounds);
  }, 600_000);

  it('answers lookups bit for bit on a source with 1,500 batch ingests, each shard shipping its ranges as data', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(23);
    const at = t0 - 5n * minute;
    await ingestBesideBatchRecords(env, prng, at, bucket.objects, 1_500);
    const { finished } = await env.runSharded(at);
    expect(finished).toMatchObject({ status: 'succeeded' });
    expect(shipped.keys).toHaveLength(shards);
    expect(baseQueries()).toHaveLength(shards);
    for (const sql of baseQueries()) expect(sql).toContain('fstore_ranges');
    for (const key of shipped.keys)
      expect(bucket.objects.get(key)?.toString().trim().split('\n').length).toBeGreaterThan(1_500);
    const values = await env.lookupAt(at, false);
    expect(values.some((v) => (v.amount_count_1d as number) > 0)).toBe(true);
    expect(await env.mismatches(env.lookupRecords(at, values))).toEqual([]);
  }, 600_000);

  it('reads each commit record once before the start of a first run of 3 shards without a records summary, the start step its coverage from the summary; each shard reads the summary and no record', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(41);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await ingestHourly(env, prng, taken, at, 6);
    await env.push(at, rowsBetween(prng, at - 20n * minute, at, 3, taken));
    // More records than the start step reads itself in one round (32): it reads the summary.
    await ingestBesideBatchRecords(env, prng, at, bucket.objects, 100);
    const { finished, requests } = await env.runSharded(at, { together: true });
    expect(finished).toMatchObject({ status: 'succeeded' });
    const records = recordKeys();
    expect(records.length).toBeGreaterThan(100);
    const summary = ingestRecordsSummaryKey('payments');
    // The records step before the start reads each record once into the summary; the start
    // step's ingest coverage reads the summary and no record; the shards the summary only.
    expect({
      beforeStart: records.map((key) => getsOf(requests.beforeStart, key)),
      start: records.map((key) => getsOf(requests.start, key)),
      summaryReadsInStart: getsOf(requests.start, summary),
      beforeMap: records.map((key) => getsOf(requests.beforeMap, key)),
      map: records.map((key) => getsOf(requests.map, key)),
      summaryReadsInMap: getsOf(requests.map, summary),
      summaryWritesInMap: requests.map.filter((r) => r === `PUT ${summary}`).length,
    }).toEqual({
      beforeStart: records.map(() => 1),
      start: records.map(() => 0),
      summaryReadsInStart: 1,
      beforeMap: records.map(() => 0),
      map: records.map(() => 0),
      summaryReadsInMap: shards,
      summaryWritesInMap: 0,
    });
    const values = await env.lookupAt(at, false);
    expect(await env.mismatches(env.lookupRecords(at, values))).toEqual([]);
  }, 300_000);

  it('reads no more than one round of records in the start step of a first run with few records, and none of them in the map', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(42);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await ingestHourly(env, prng, taken, at, 6);
    const { finished, requests } = await env.runSharded(at, { together: true });
    expect(finished).toMatchObject({ status: 'succeeded' });
    const records = recordKeys();
    expect(records.length).toBeGreaterThanOrEqual(6);
    // Fewer than 32 to read: the start step GETs them (one round) rather than the summary.
    expect({
      beforeStart: records.map((key) => getsOf(requests.beforeStart, key)),
      start: records.map((key) => getsOf(requests.start, key)),
      beforeMap: records.map((key) => getsOf(requests.beforeMap, key)),
      map: records.map((key) => getsOf(requests.map, key)),
    }).toEqual({
      beforeStart: records.map(() => 1),
      start: records.map(() => 1),
      beforeMap: records.map(() => 0),
      map: records.map(() => 0),
    });
  }, 300_000);

  it('brings the records summary up to date over several records steps before the start when each stops after a page, still reading each record once before the start', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(43);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await ingestHourly(env, prng, taken, at, 5);
    const { finished, requests, summarySteps, summaryStepsBeforeStart } = await env.runSharded(at, {
      together: true,
      summaryPageRecords: 2,
    });
    expect(finished).toMatchObject({ status: 'succeeded' });
    const records = recordKeys();
    expect(summaryStepsBeforeStart).toBe(Math.ceil(records.length / 2));
    // Up to date already: the step before the map reads no record and is done at once.
    expect(summarySteps).toBe(1);
    expect(records.map((key) => getsOf(requests.beforeStart, key))).toEqual(records.map(() => 1));
    expect(records.map((key) => getsOf(requests.beforeMap, key))).toEqual(records.map(() => 0));
    expect(records.map((key) => getsOf(requests.map, key))).toEqual(records.map(() => 0));
    const values = await env.lookupAt(at, false);
    expect(await env.mismatches(env.lookupRecords(at, values))).toEqual([]);
  }, 300_000);

  it('keeps the base mark: a repeated full run changes no tile item, and a run after a new row is incremental', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(5);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 2n * 1440n * minute, at, 12, taken),
    );
    expect((await env.runSharded(at)).finished).toMatchObject({ status: 'succeeded' });
    expect((await env.state()).tileBases).toBe(true);
    const written = await env.tileItems();
    expect(written.size).toBeGreaterThan(10);

    // A full run again reads every entity and its bases: every item already holds them.
    const again = await env.runSharded(at + second, { full: true });
    expect(again.finished).toMatchObject({ status: 'succeeded', counts: { rowsRead: 3 } });
    expect(await env.tileItems()).toEqual(written);
    expect((await env.state()).tileBases).toBe(true);

    await env.fixture.ingest('payments', rowsBetween(prng, at, at + minute, 1, taken));
    const next = await env.runSharded(at + 2n * minute);
    expect(next.finished.scope).toMatchObject({ kind: 'incremental' });
    expect((await env.state()).tileBases).toBe(true);
    const values = await env.lookupAt(at + 2n * minute, false);
    expect(await env.mismatches(env.lookupRecords(at + 2n * minute, values))).toEqual([]);
  }, 300_000);

  it('resumes a shard paused at every base checkpoint, and one killed before its token, counting every row once', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(17);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 3n * 1440n * minute, at, 15, taken),
    );
    await env.push(at, rowsBetween(prng, at - 20n * minute, at, 4, taken));
    // Killed: the first entity's items are written, its token is not; the shard fails.
    let kills = 1;
    await expect(
      env.runSharded(at, {
        beforeToken: () => {
          if (kills-- > 0) throw new Error('killed before renewing the write token');
        },
      }),
    ).rejects.toThrow(/killed before renewing/);
    expect((await env.state()).watermark).toBeUndefined();
    const basesBefore = baseQueries().length;

    // Paused at every checkpoint (1 entity a chunk): each invocation resumes with a query of
    // its own after the last entity written.
    const resumed = await env.runSharded(at, { remainingMs: 1_000 });
    expect(resumed.started.resumed).toBe(true);
    expect(resumed.finished).toMatchObject({ status: 'succeeded' });
    expect(resumed.invocations).toBeGreaterThan(shards);
    expect(baseQueries().length - basesBefore).toBeGreaterThan(1);
    const lookups = [];
    for (const instant of [at, at + 10n * minute, at + 1440n * minute])
      for (const cached of [false, true])
        lookups.push(...env.lookupRecords(instant, await env.lookupAt(instant, cached)));
    expect(await env.mismatches(lookups)).toEqual([]);
    expect(lookups.some((o) => (o.values.amount_count_30d as number) > 1)).toBe(true);
  }, 300_000);

  it('keeps the watermark when a shard’s base query fails, and the next execution resumes only the bases', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(23);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 2n * 1440n * minute, at, 10, taken),
    );
    athena.failWhen((sql) => sql.includes(') fstore_base\nRIGHT JOIN'));
    await expect(env.runSharded(at)).rejects.toThrow(/Athena query q\d+ failed/);
    expect(env.refusals).toEqual([
      expect.stringMatching(/shards have not written their tile bases .*; the watermark stays/),
    ]);
    const failed = await env.state();
    expect(failed.watermark).toBeUndefined();
    expect(failed.tileBases).toBeUndefined();
    expect(failed.lastRun).toMatchObject({ status: 'failed' });
    // The shard that failed had written its rows: its rows stay done, its bases are pending.
    const progress = Object.values(await env.shardProgress());
    expect(progress.some((p) => p.done && p.tiles?.done !== true)).toBe(true);

    athena.install();
    const unloads = athena.queries.filter((sql) => sql.startsWith('UNLOAD (')).length;
    const again = await env.runSharded(at);
    expect(again.started.resumed).toBe(true);
    expect(again.finished).toMatchObject({ status: 'succeeded' });
    // The UNLOAD output stands: no second UNLOAD.
    expect(athena.queries.filter((sql) => sql.startsWith('UNLOAD ('))).toHaveLength(unloads);
    const state = await env.state();
    expect(state.watermark).toBeDefined();
    expect(state.tileBases).toBe(true);
    const values = await env.lookupAt(at, false);
    expect(await env.mismatches(env.lookupRecords(at, values))).toEqual([]);
    expect(values.some((v) => (v.amount_count_1d as number) > 0)).toBe(true);
  }, 300_000);

  it('clears the stale base of an entity none of whose rows is in the widest window any more', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(13);
    const at = t0 - 5n * minute;
    await ingestWithK1OutsideWindow(env, prng, at);
    await writeStaleK1Base(env, prng, at);
    expect((await env.lookupAt(at, false))[0]?.amount_count_30d).toBe(8);

    expect((await env.runSharded(at)).finished).toMatchObject({ status: 'succeeded' });
    const k1 = await k1TileItems(env);
    expect(k1.length).toBeGreaterThan(0);
    for (const item of k1) expect(item.br ?? item.bt).toBeUndefined();
    const values = await env.lookupAt(at, false);
    expect(values[0]?.amount_count_30d).toBe(0);
    expect(await env.mismatches(env.lookupRecords(at, values))).toEqual([]);
  }, 300_000);

  it('refuses a shard of a tile-fed run when its writer has no Athena workgroup (deployed without it), writing nothing', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(29);
    const at = t0 - 5n * minute;
    await env.fixture.ingest('payments', rowsBetween(prng, at - 1440n * minute, at, 6, new Set()));
    await copyLocalStoreToBucket(env.fixture.dataDir, bucket.objects);
    const { step } = env.handlers(at);
    const { write } = env.handlers(at, undefined, false);
    const started = await step({ action: 'start', view: 'spend', execution: 'exec-no-athena' });
    const ref = { view: 'spend', runId: started.runId, owner: started.owner };
    await step({ action: 'poll', queryExecutionId: started.queryExecutionId, ...ref });
    for (const item of started.items)
      await expect(write(item, 600_000)).rejects.toThrow(
        /writes tile bases, but shard \d's writer has no Athena workgroup.*nothing was written/,
      );
    expect(await env.shardProgress()).toEqual({});
    expect((await env.lookupAt(at, false)).every((v) => v.amount_count_1d === 0)).toBe(true);
  }, 300_000);

  it('resumes a stopped execution’s base phase from the shard’s checkpoint key in the next execution', async () => {
    const env = await shardedEnvironment();
    const prng = new Prng(31);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 2n * 1440n * minute, at, 12, taken),
    );
    await copyLocalStoreToBucket(env.fixture.dataDir, bucket.objects);
    const { step, write } = env.handlers(at);
    const started = await step({ action: 'start', view: 'spend', execution: 'exec-stopped' });
    const ref = { view: 'spend', runId: started.runId, owner: started.owner };
    await step({ action: 'poll', queryExecutionId: started.queryExecutionId, ...ref });
    // Shard 1 of 3 holds K2 and K3. Near its timeout it pauses at every checkpoint; the
    // execution is stopped (recorded as failed) after K2's bases.
    const shard1 = started.items.find((item) => item.shard === 1) as Item;
    // Its two rows (one a chunk), then K2's bases: four invocations, each pausing.
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await write(shard1, 1_000));
    expect(results.map((r) => r.status)).toEqual(['paused', 'paused', 'paused', 'paused']);
    expect(results[3]).toMatchObject({ tiles: { afterKey: ['K2'], entities: 1, done: false } });
    await step({ action: 'fail', ...ref, error: 'execution stopped' });
    expect((await env.state()).watermark).toBeUndefined();

    const queriesBefore = baseQueries().length;
    const again = await env.runSharded(at);
    expect(again.started).toMatchObject({ resumed: true, runId: started.runId });
    expect(again.finished).toMatchObject({ status: 'succeeded' });
    const shard1Queries = baseQueries()
      .slice(queriesBefore)
      .filter((sql) => sql.includes(') % 3 = 1'));
    expect(shard1Queries).toHaveLength(1);
    expect(shard1Queries[0]).toContain(`("customer_id" > 'K2')`);
    const values = await env.lookupAt(at, false);
    expect(await env.mismatches(env.lookupRecords(at, values))).toEqual([]);
    expect(values.every((v) => (v.amount_count_30d as number) > 0)).toBe(true);
  }, 300_000);
});
