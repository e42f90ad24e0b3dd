import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiDependencies, handleRequest } from '../../lib/api/handle-request.ts';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { getTrainingSet, type TrainingSetResult } from '../../lib/offline/training-set.ts';
import { sdkBatchGet } from '../../lib/online/dynamodb-batch-get/sdk-batch-get.ts';
import { fetchLookup } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { lookupRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import type { PointInTimeStrategy } from '../../lib/sql/render-training-set.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

/**
 * Issue 18 §3: the same transform gives identical values in a lookup and in a training set at
 * the same instant. Generated data (seeded, so a failure reproduces: change SEED to explore),
 * materialized to dynalite at `now` = T, looked up through the HTTP API's request handler at
 * T, and joined into a training set with entity timestamps T; every value is compared bit for
 * bit (IEEE bits for floats, so -0 and float32 rounding count). FSTORE_SKEW_SEED=<n> runs
 * another seed; the seed is in the test names.
 */
const SEED = Number(process.env.FSTORE_SKEW_SEED ?? 20_261_201);
const ENTITIES = 300;

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const readings = defineSource({
  name: 'readings',
  schema: {
    customer_id: 'string',
    i32: 'int32',
    i64: 'int64',
    f32: 'float32',
    f64: 'float64',
    s: 'string',
    b: 'bool',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const storedTypes = {
  i32: 'int32',
  i64: 'int64',
  f32: 'float32',
  f64: 'float64',
  s: 'string',
  b: 'bool',
} as const;
const reading = defineFeatureView({
  name: 'reading',
  entities: [customer],
  source: readings,
  features: storedTypes,
  ttl: '7d',
  online: true,
  schedule: 'rate(1 hour)',
});
const requestTypes = {
  r_i32: 'int32',
  r_i64: 'int64',
  r_f32: 'float32',
  r_f64: 'float64',
  r_s: 'string',
  r_b: 'bool',
} as const;
const mixTypes = {
  m_f64: 'float64',
  m_f32: 'float32',
  m_sign: 'float64',
  m_i64: 'int64',
  m_i32: 'int32',
  m_s: 'string',
  m_kind: 'string',
  m_head: 'string',
  m_b: 'bool',
} as const;
/** Arithmetic sensitive to every input bit, string building, int64 arithmetic; no throw of its own. */
const mix = defineOnDemandView({
  name: 'mix',
  request: requestTypes,
  inputs: [reading.select()],
  features: {
    ...mixTypes,
    m_s: { type: 'string', nullable: false },
    m_kind: { type: 'string', nullable: false },
  },
  transform: (row) => ({
    m_f64: row.f64 === null ? null : row.f64 * row.r_f64 + (row.f32 ?? 0) / 3 - row.r_f32,
    m_f32: row.f32 === null ? null : row.f32 * 0.1 + row.r_f32,
    // atan2(±0, -1) is ±π: the sign of a zero shows.
    m_sign: row.f64 === null ? null : Math.atan2(row.f64, -1),
    m_i64: row.i64 === null ? null : Math.trunc(row.i64 / 4096) + (row.i64 % 4096) + row.r_i64,
    m_i32: row.i32 === null ? null : row.i32 ^ row.r_i32,
    m_s: `${row.s}|${row.r_s}|${row.i64}|${row.f32}|${row.f64}|${row.i32}|${row.b}|${row.r_f32}|${row.r_f64}`,
    m_kind: row.s === null ? 'null' : row.s === '' ? 'empty' : `text:${row.s.length}`,
    // Cut by UTF-16 code units: the first half of '𝄞' is a lone surrogate.
    m_head: row.s === null ? null : row.s.slice(0, 1),
    m_b: row.b === null ? null : row.b !== row.r_b,
  }),
});
const pickyTypes = { p_ratio: 'float64', p_tag: 'string' } as const;
/** Throws for some rows, and refuses a null p_ratio (an empty stored s): TRANSFORM_ERROR. */
const picky = defineOnDemandView({
  name: 'picky',
  request: { r_s: 'string', r_f64: 'float64' },
  inputs: [reading.select(['s', 'f64', 'i32'])],
  features: {
    p_ratio: { type: 'float64', nullable: false },
    p_tag: { type: 'string', allowedValues: ['neg', 'zero', 'negzero', 'pos'] },
  },
  transform: (row) => {
    if (row.r_s.startsWith('☠')) throw new Error(`poisoned request value ${row.r_s}`);
    if (row.i32 !== null && row.i32 % 11 === 0) throw new Error(`i32 ${row.i32} divides by 11`);
    return {
      p_ratio: row.s === '' ? null : (row.f64 ?? 1) / row.r_f64,
      p_tag:
        row.f64 === null
          ? null
          : Object.is(row.f64, -0)
            ? 'negzero'
            : row.f64 === 0
              ? 'zero'
              : row.f64 < 0
                ? 'neg'
                : 'pos',
    };
  },
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const orderStats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['count', 'sum', 'avg', 'min'], windows: ['7d', '30d'] } },
  online: true,
  schedule: 'rate(1 hour)',
});
const aggTypes = {
  a_count: 'int64',
  a_sum: 'float64',
  a_avg: 'float64',
  a_min: 'float64',
  a_count30: 'int64',
  a_scaled30: 'float64',
} as const;
/** Windowed aggregates as inputs: an entity without orders reads count 0 (NOT_FOUND online). */
const agg = defineOnDemandView({
  name: 'agg',
  request: { r_f64: 'float64' },
  inputs: [
    orderStats.select([
      'amount_count_7d',
      'amount_sum_7d',
      'amount_avg_7d',
      'amount_min_7d',
      'amount_count_30d',
      'amount_sum_30d',
    ]),
  ],
  features: { ...aggTypes, a_count: { type: 'int64', nullable: false } },
  transform: (row) => ({
    a_count: row.amount_count_7d,
    a_sum: row.amount_sum_7d,
    a_avg: row.amount_avg_7d,
    a_min: row.amount_min_7d,
    a_count30: row.amount_count_30d,
    a_scaled30: row.amount_sum_30d === null ? null : row.amount_sum_30d * row.r_f64,
  }),
});
const skew = defineFeatureService({
  name: 'skew',
  features: [reading.select(), mix, picky, agg],
});
const definitions = [customer, readings, reading, orders, orderStats, mix, picky, agg, skew];

// ---- generated data ------------------------------------------------------------------------

type Generated = number | bigint | string | boolean | null;

const T = Date.UTC(2026, 2, 10, 12, 0, 0); // ms: materialization `now`, lookup clock, entity time
const tMicros = BigInt(T) * 1000n;
const dayMicros = 86_400_000_000n;
const ttlMicros = 7n * dayMicros;

const int32Edges = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 11, -22];
const int64Edges = [
  0n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n + 1n),
  2n ** 63n - 1n,
  -(2n ** 63n),
  12_345_678_901_234_567n,
  -98_765_432_109_876_543n,
];
/** Not exact in float32, or at its edges. */
const float32Edges = [0.1, 1 / 3, 0.2, -0.7, 3.4e38, -3.4e38, 1e-40, 16_777_217, 0, -0];
const float64Edges = [
  0.1 + 0.2,
  1e-300,
  -0,
  0,
  1.7976931348623157e308,
  -1e308,
  5e-324,
  2 ** 53 + 2,
  Math.PI,
  1 / 3,
  -123_456.789,
];
const stringEdges = [
  '',
  'plain',
  'é',
  'e\u0301',
  '𝄞 clef',
  '日本語',
  'tab\tnew\nline',
  'quote" back\\',
  ' lead',
  '\u2028',
  'nul\u0000byte',
  'crlf\r\n',
  '\ufeffbom',
];
const letters = ['a', 'Z', 'é', 'ß', '𝄞', '日', ' ', '-', '0'];

function maybeNull<V>(p: Prng, make: () => V): V | null {
  return p.chance(0.1) ? null : make();
}
const randomString = (p: Prng) =>
  Array.from({ length: p.int(0, 8) }, () => p.pick(letters)).join('');
const randomInt64 = (p: Prng) =>
  BigInt(p.int(-(2 ** 31), 2 ** 31 - 1)) * 2n ** 32n + BigInt(p.int(0, 2 ** 32 - 1));
const randomFloat = (p: Prng, exponent: number) =>
  (p.next() - 0.5) * 10 ** p.int(-exponent, exponent);

function storedRow(p: Prng): Record<string, Generated> {
  return {
    i32: maybeNull(p, () => (p.chance(0.3) ? p.pick(int32Edges) : p.int(-(2 ** 31), 2 ** 31 - 1))),
    i64: maybeNull(p, () => (p.chance(0.4) ? p.pick(int64Edges) : randomInt64(p))),
    f32: maybeNull(p, () => (p.chance(0.4) ? p.pick(float32Edges) : randomFloat(p, 30))),
    f64: maybeNull(p, () => (p.chance(0.4) ? p.pick(float64Edges) : randomFloat(p, 300))),
    s: maybeNull(p, () => (p.chance(0.4) ? p.pick(stringEdges) : randomString(p))),
    b: maybeNull(p, () => p.chance(0.5)),
  };
}

function requestRow(p: Prng): Record<string, Generated> {
  return {
    r_i32: p.chance(0.3) ? p.pick(int32Edges) : p.int(-(2 ** 31), 2 ** 31 - 1),
    r_i64: p.chance(0.3) ? p.pick([0, -1, 2 ** 51, -(2 ** 51)]) : p.int(-(2 ** 51), 2 ** 51),
    r_f32: p.chance(0.3) ? p.pick([0.1, 0.3, -1.5, 1e-7, 3e38, -0]) : randomFloat(p, 20),
    r_f64: p.chance(0.3) ? p.pick([0.1 + 0.2, 1e-300, -0, 0, 1e300, 2, -3.5]) : randomFloat(p, 200),
    r_s: p.chance(0.1) ? '☠ poison' : p.chance(0.3) ? p.pick(stringEdges) : randomString(p),
    r_b: p.chance(0.5),
  };
}

type Kind = 'fresh' | 'none' | 'stale' | 'boundary';
interface Entity {
  readonly id: string;
  readonly kind: Kind;
  readonly request: Record<string, Generated>;
}

/** Entities, and source rows (event times in µs, distinct per entity, none after T). */
function generate(seed: number) {
  const p = new Prng(seed);
  const entities: Entity[] = [];
  const rows: Record<string, Generated>[] = [];
  const orderRows: Record<string, Generated>[] = [];
  for (let i = 0; i < ENTITIES; i++) {
    const id = `c${String(i).padStart(4, '0')}`;
    const roll = p.next();
    const kind: Kind =
      roll < 0.1 ? 'none' : roll < 0.2 ? 'stale' : roll < 0.25 ? 'boundary' : 'fresh';
    entities.push({ id, kind, request: requestRow(p) });
    if (kind === 'none') continue;
    // Amounts within the exact-sum limits (docs/adr/0007-running-totals.md): past them (1e-300
    // beside 1e5) a window sum falls back to an order-dependent double sum, which differs.
    for (let k = p.int(0, 6); k > 0; k--)
      orderRows.push({
        customer_id: id,
        amount: p.chance(0.3) ? p.pick([0.1, 0.2, -0.7, 1 / 3, 1e-3, -0]) : randomFloat(p, 5),
        event_ts: formatMicros(tMicros - BigInt(p.int(0, 40 * 86_400_000)) * 1000n),
      });
    const times = new Set<bigint>();
    // The newest row: within the TTL, past it, or on either inclusive end (T - ttl, T).
    if (kind === 'boundary') times.add(p.chance(0.5) ? tMicros - ttlMicros : tMicros);
    else if (kind === 'stale')
      times.add(tMicros - ttlMicros - 1n - BigInt(p.int(0, 2 ** 30)) * 1000n);
    else times.add(tMicros - BigInt(p.int(0, 6 * 86_400_000)) * 1000n - BigInt(p.int(0, 999)));
    const newest = [...times][0] as bigint;
    const older = p.int(0, 4);
    for (let k = 0; k < older; k++) times.add(newest - BigInt(p.int(1, 2 ** 31)) * 1000n - 1n);
    for (const time of times)
      rows.push({ customer_id: id, ...storedRow(p), event_ts: formatMicros(time) });
  }
  return { entities, rows, orderRows };
}

/**
 * JSON text as a client writes it: int64 beyond 2^53 as its digits, -0 as `-0.0` (JSON.parse
 * and DuckDB both read that as negative zero; JSON.stringify would write 0).
 */
function jsonText(value: Generated): string {
  if (typeof value === 'bigint') return value.toString();
  if (Object.is(value, -0)) return '-0.0';
  return JSON.stringify(value);
}
const objectText = (record: Record<string, Generated>) =>
  `{${Object.entries(record)
    .map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`)
    .join(',')}}`;

// ---- comparing -----------------------------------------------------------------------------

const float = new Float64Array(1);
const floatBits = new BigUint64Array(float.buffer);
function bitsOf(value: number): string {
  float[0] = value;
  return `0x${(floatBits[0] as bigint).toString(16).padStart(16, '0')}`;
}
function shown(value: unknown): string {
  if (typeof value === 'number') return `${Object.is(value, -0) ? '-0' : value} (${bitsOf(value)})`;
  if (typeof value === 'bigint') return `${value}n`;
  return JSON.stringify(value);
}

/** Whether a lookup's JSON value and a training set's Parquet value are the same bits. */
function identical(type: string, looked: unknown, trained: unknown): boolean {
  if (looked === null || trained === null) return looked === null && trained === null;
  if (type === 'int64') {
    // A lookup writes an int64 beyond 2^53 as its digits; Parquet holds a BIGINT.
    if (typeof trained !== 'bigint') return false;
    if (typeof looked === 'string') return BigInt(looked) === trained;
    return typeof looked === 'number' && Number.isSafeInteger(looked) && BigInt(looked) === trained;
  }
  if (type === 'int32' || type === 'float32' || type === 'float64')
    return (
      typeof looked === 'number' &&
      typeof trained === 'number' &&
      Object.is(looked, trained) &&
      bitsOf(looked) === bitsOf(trained)
    );
  return looked === trained;
}

interface LookupFeature {
  readonly value: unknown;
  readonly status: string;
  readonly error?: string;
}

// ---- the run -------------------------------------------------------------------------------

const { entities, rows, orderRows } = generate(SEED);
const registry = compileRegistry(definitions.map((definition) => ({ definition })));
const runtime = lookupRegistryProjection(registry);
const table = 'fstore-skew';
let dynamo: LocalDynamo;
let client: DynamoDBClient;
let lookups: Map<string, Record<string, LookupFeature>>;
/** Both point-in-time strategies: DuckDB's ASOF JOIN and the merge-window SQL Athena runs. */
const strategies = ['asof', 'merge-window'] as const satisfies readonly PointInTimeStrategy[];
const trainingSets = new Map<
  PointInTimeStrategy,
  { readonly rows: Map<string, Record<string, unknown>>; readonly result: TrainingSetResult }
>();
const trainedRow = (strategy: PointInTimeStrategy, id: string) =>
  trainingSets.get(strategy)?.rows.get(id) ?? {};

async function lookUp(batch: readonly Entity[]): Promise<Record<string, LookupFeature>[]> {
  const api: ApiDependencies = {
    registry: runtime,
    limits: { maxEntities: 1000, maxBodyBytes: 10_000_000 },
    // The Lambda's read, with its clock at T: the lookup happens at the training set's instant.
    lookup: (request, call) =>
      fetchLookup(sdkBatchGet(client), table, runtime, request, { ...call, now: () => T }),
    health: async () => true,
  };
  const body = `{"entities":[${batch
    .map((e) => objectText({ customer_id: e.id, ...e.request }))
    .join(',')}]}`;
  const response = await handleRequest(
    {
      method: 'POST',
      path: '/v1/features/skew',
      body,
      headers: { 'content-type': 'application/json' },
    },
    api,
  );
  expect(response.statusCode, response.body).toBe(200);
  const answer = JSON.parse(response.body) as {
    results: { entity: { customer_id: string }; features: Record<string, LookupFeature> }[];
  };
  expect(answer.results.map((r) => r.entity.customer_id)).toEqual(batch.map((e) => e.id));
  return answer.results.map((r) => r.features);
}

describe(`a lookup and a training set at the same instant (seed ${SEED})`, () => {
  beforeAll(async () => {
    const dataDir = await makeTempDir('skew');
    const sourceFile = path.join(dataDir, 'readings.jsonl');
    await writeFile(sourceFile, `${rows.map(objectText).join('\n')}\n`);
    await ingestFile({ registry, dataDir, env: 'local', source: 'readings', file: sourceFile });
    const ordersFile = path.join(dataDir, 'orders.jsonl');
    await writeFile(ordersFile, `${orderRows.map(objectText).join('\n')}\n`);
    await ingestFile({ registry, dataDir, env: 'local', source: 'orders', file: ordersFile });

    dynamo = await startDynalite();
    client = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(client, table);
    await materializeLocal({ registry, dataDir, env: 'local', client, table, now: () => T });

    lookups = new Map();
    for (let start = 0; start < entities.length; start += 100) {
      const batch = entities.slice(start, start + 100);
      const answers = await lookUp(batch);
      for (const [i, e] of batch.entries())
        lookups.set(e.id, answers[i] as Record<string, LookupFeature>);
    }

    const entityFile = path.join(dataDir, 'entities.jsonl');
    await writeFile(
      entityFile,
      `${entities
        .map((e) =>
          objectText({ customer_id: e.id, event_timestamp: formatMicros(tMicros), ...e.request }),
        )
        .join('\n')}\n`,
    );
    for (const strategy of strategies) {
      const out = path.join(dataDir, `training-${strategy}.parquet`);
      const result = await getTrainingSet({
        registry,
        dataDir,
        env: 'local',
        request: { service: 'skew' },
        entities: entityFile,
        onTransformError: 'null',
        strategy,
        out,
      });
      // The file a training job reads, with DuckDB's own values (bigint for BIGINT, FLOAT widened).
      const session = await openDuckdb();
      try {
        const reader = await session.connection.runAndReadAll(
          `SELECT * FROM read_parquet('${out.replaceAll("'", "''")}')`,
        );
        const rows = new Map(
          reader.getRowObjects().map((r) => [String(r.customer_id), r as Record<string, unknown>]),
        );
        trainingSets.set(strategy, { rows, result });
      } finally {
        session.close();
      }
    }
  }, 300_000);

  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  it('covers every case it is meant to: no rows, past the TTL, failing transforms, awkward values', () => {
    const statuses = (feature: string) =>
      entities.map((e) => lookups.get(e.id)?.[feature]?.status ?? 'MISSING');
    const count = (list: string[], status: string) => list.filter((s) => s === status).length;
    const stored = statuses('i32');
    // Each entity's stored features have the status its generated rows were meant to give.
    const expected: Record<Kind, readonly string[]> = {
      none: ['NOT_FOUND'],
      stale: ['OUTSIDE_TTL', 'NOT_FOUND'],
      boundary: ['PRESENT', 'NULL_VALUE'],
      fresh: ['PRESENT', 'NULL_VALUE'],
    };
    const unexpected = entities
      .map((e, i) => ({ e, status: stored[i] ?? '' }))
      .filter(({ e, status }) => !expected[e.kind].includes(status))
      .map(({ e, status }) => `${e.id} (${e.kind}): ${status}`);
    expect(unexpected).toEqual([]);
    expect(count(stored, 'NOT_FOUND') + count(stored, 'OUTSIDE_TTL')).toBeGreaterThan(
      ENTITIES / 10,
    );
    expect(count(stored, 'PRESENT') + count(stored, 'NULL_VALUE')).toBeGreaterThan(ENTITIES / 2);
    for (const feature of ['m_s', 'p_ratio']) {
      const failed = count(statuses(feature), 'TRANSFORM_ERROR');
      expect(failed, feature).toBeGreaterThan(5);
      expect(failed, feature).toBeLessThan(ENTITIES / 2);
    }
    const training = trainingSets.get('asof')?.rows ?? new Map<string, Record<string, unknown>>();
    const trainedValues = (feature: string) => [...training.values()].map((r) => r[feature]);
    expect(trainedValues('f64').some((v) => Object.is(v, -0))).toBe(true);
    expect(trainedValues('s')).toContain('');
    expect(trainedValues('a_count')).toContain(0n);
    expect(trainedValues('a_count').some((v) => typeof v === 'bigint' && v > 1n)).toBe(true);
    expect(trainedValues('i64').some((v) => typeof v === 'bigint' && v > 2n ** 53n)).toBe(true);
    expect(trainedValues('i64').some((v) => typeof v === 'bigint' && v < -(2n ** 53n))).toBe(true);
    expect(trainedValues('f32').some((v) => typeof v === 'number' && Math.fround(v) !== v)).toBe(
      false,
    );
    for (const strategy of strategies)
      expect(trainingSets.get(strategy)?.rows.size, strategy).toBe(ENTITIES);
  });

  it.each(strategies)(
    'gives every on-demand feature the same bits in the lookup and the training set (%s)',
    (strategy) => {
      const outputs = { ...mixTypes, ...pickyTypes, ...aggTypes } as Record<string, string>;
      const differences: string[] = [];
      for (const e of entities) {
        const looked = lookups.get(e.id) ?? {};
        const trained = trainedRow(strategy, e.id);
        for (const [feature, type] of Object.entries(outputs)) {
          const answer = looked[feature];
          if (answer?.status === 'TRANSFORM_ERROR') continue; // compared by the next test
          if (!identical(type, answer?.value, trained[feature]))
            differences.push(
              `${e.id} ${feature} (${type}): lookup ${shown(answer?.value)} vs training set ${shown(trained[feature])}`,
            );
        }
      }
      expect(differences).toEqual([]);
    },
  );

  it.each(strategies)(
    'fails the transform on the same rows: TRANSFORM_ERROR in lookups, NULL features in the training set (%s)',
    (strategy) => {
      const differences: string[] = [];
      let failures = 0;
      for (const e of entities) {
        const looked = lookups.get(e.id) ?? {};
        const trained = trainedRow(strategy, e.id);
        for (const [view, features, required] of [
          ['mix', Object.keys(mixTypes), 'm_s'],
          ['picky', Object.keys(pickyTypes), 'p_ratio'],
          ['agg', Object.keys(aggTypes), 'a_count'],
        ] as const) {
          const lookupFailed = features.every((f) => looked[f]?.status === 'TRANSFORM_ERROR');
          // A non-nullable output is NULL only where the transform failed.
          const trainingFailed = trained[required] === null;
          if (lookupFailed) failures += 1;
          if (
            lookupFailed !== trainingFailed ||
            (trainingFailed && features.some((f) => trained[f] !== null))
          )
            differences.push(
              `${e.id} ${view}: lookup ${lookupFailed ? `failed (${looked[required]?.error})` : 'succeeded'}, training set ${trainingFailed ? 'failed' : 'succeeded'}`,
            );
        }
      }
      expect(differences).toEqual([]);
      expect(trainingSets.get(strategy)?.result.transformErrors?.rows).toBe(failures);
    },
  );

  it.each(strategies)(
    'gives every stored input the same bits in the lookup and the training set (%s)',
    (strategy) => {
      const differences: string[] = [];
      for (const e of entities) {
        const looked = lookups.get(e.id) ?? {};
        const trained = trainedRow(strategy, e.id);
        for (const [feature, type] of Object.entries(storedTypes))
          if (!identical(type, looked[feature]?.value, trained[feature]))
            differences.push(
              `${e.id} ${feature} (${type}, ${looked[feature]?.status}): lookup ${shown(looked[feature]?.value)} vs training set ${shown(trained[feature])}`,
            );
      }
      expect(differences).toEqual([]);
    },
  );
});
