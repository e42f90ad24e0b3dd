import { cp, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { KEY_LIST_MAX_ROWS } from '../../lib/offline/request-scope.ts';
import { committedSeqs } from '../../lib/offline/seq-pins.ts';
import { sortedCopiesDir } from '../../lib/offline/sorted-copy.ts';
import { getTrainingSet, type TrainingSetOptions } from '../../lib/offline/training-set.ts';
import { type AnyDefinition, compileRegistry } from '../../lib/registry/index.ts';
import type { PointInTimeStrategy } from '../../lib/sql/render-training-set.ts';
import { fixtureDryRun, parquetFilesIn } from '../helpers/fixture-dry-run.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { seededRandom as random } from '../helpers/seeded-random.ts';

// Composite keys (a string and an int64), key values that differ only in case, trailing spaces
// or normalisation, empty strings and NULL components: the copy's dictionary numbers tuples,
// and every number must mean exactly the tuple the keys would join on.
const pair = defineEntity({
  name: 'pair',
  joinKeys: [
    { name: 'customer_id', type: 'string' },
    { name: 'shop_id', type: 'int64' },
  ],
});
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const visits = defineSource({
  name: 'visits',
  schema: {
    customer_id: 'string',
    shop_id: 'int64',
    amount: 'float64',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const pairAmount = defineFeatureView({
  name: 'pair_amount',
  entities: [pair],
  source: visits,
  features: {
    amount: 'float64',
    doubled: { expr: 'amount * 2' },
  },
  ttl: '15d',
});
const pairLatest = defineFeatureView({
  name: 'pair_latest',
  entities: [pair],
  source: visits,
  features: { amount: 'float64' },
});
// Another key set on the same source: not the copy's order.
const customerAmount = defineFeatureView({
  name: 'customer_amount',
  entities: [customer],
  source: visits,
  features: { amount: 'float64' },
  ttl: '5d',
});
const pairStats = defineAggregationView({
  name: 'pair_stats',
  entities: [pair],
  source: visits,
  aggregations: { amount: { functions: ['count', 'sum'], windows: ['7d'] } },
});
const halved = defineOnDemandView({
  name: 'halved',
  inputs: [pairLatest.select(['amount'])],
  features: { half: 'float64' },
  transform: (row) => ({ half: row.amount === null ? null : row.amount / 2 }),
});
const everything = defineFeatureService({
  name: 'everything',
  features: [
    pairAmount.select(['amount', 'doubled']),
    pairLatest.select([{ feature: 'amount', alias: 'latest_amount' }]),
    customerAmount.select([{ feature: 'amount', alias: 'customer_amount' }]),
    pairStats.select(['amount_count_7d', 'amount_sum_7d']),
    halved,
  ],
});
const onlyHalved = defineFeatureService({ name: 'only_halved', features: [halved] });
const definitions: AnyDefinition[] = [
  everything,
  onlyHalved,
  pair,
  customer,
  visits,
  pairAmount,
  pairLatest,
  customerAmount,
  pairStats,
  halved,
];
const request = { service: 'everything' };

const day0 = Date.parse('2026-01-01T00:00:00Z');
const at = (next: () => number) =>
  new Date(day0 + Math.floor(next() * 40 * 24) * 3_600_000).toISOString();
// Strings a dictionary could confuse: case, trailing and leading spaces, composed and decomposed
// é, the empty string, a NUL-free control character.
const awkward = ['a', 'A', 'a ', ' a', 'a  ', '', 'é', 'e\u0301', '日本', 'x\ty', 'ß', 'SS'];
const customerOf = (next: () => number) => awkward[Math.floor(next() * awkward.length)] as string;
const shopOf = (next: () => number) => [0, 1, -1, 9_007_199_254_740_991][Math.floor(next() * 4)];

function visitRows(seed: number, count: number, customers = customerOf) {
  const next = random(seed);
  return Array.from({ length: count }, () => ({
    customer_id: customers(next),
    shop_id: shopOf(next),
    amount: Math.round(next() * 10_000) / 100,
    event_ts: at(next),
    created_ts: next() < 0.2 ? null : at(next),
  }));
}
function entityRows(seed: number, count = KEY_LIST_MAX_ROWS + 300) {
  const next = random(seed);
  return Array.from({ length: count }, () => ({
    customer_id:
      next() < 0.03
        ? null
        : next() < 0.05
          ? 'ONLY-IN-ENTITIES'
          : next() < 0.1
            ? 'TAIL'
            : customerOf(next),
    shop_id: next() < 0.03 ? null : next() < 0.05 ? 77 : shopOf(next),
    event_timestamp: at(next),
  }));
}

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;

async function copyNames(fixture: Fixture): Promise<string[]> {
  const dir = sortedCopiesDir(offlineRoot(fixture.dataDir, 'local'), 'visits');
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

/** The training set with the sorted copies, and with them moved aside (the files alone). */
async function withAndWithoutCopies(
  fixture: Fixture,
  entities: readonly Record<string, unknown>[],
  options: Partial<TrainingSetOptions> = {},
) {
  const root = offlineRoot(fixture.dataDir, 'local');
  const run = () => fixture.trainingSet(entities, { request, fullFeatureNames: true, ...options });
  const withCopies = await run();
  const aside = path.join(fixture.dataDir, 'copies-aside');
  await cp(path.join(root, '_sorted_copies'), aside, { recursive: true, preserveTimestamps: true });
  await rm(path.join(root, '_sorted_copies'), { recursive: true });
  const withoutCopies = await run();
  await cp(aside, path.join(root, '_sorted_copies'), { recursive: true, preserveTimestamps: true });
  await rm(aside, { recursive: true });
  return { withCopies, withoutCopies };
}

const tailDay = '2026-01-20';
/** A copy of 5,000 rows, then a tail (one day's file) holding rows of a key only it has, and ties. */
async function storeWithTail(strategy?: PointInTimeStrategy) {
  const fixture = await offlineFixture(definitions, strategy);
  const stored = visitRows(1, 5_000);
  const first = await fixture.ingest('visits', stored);
  expect(first.sortedCopyWritten).toBe(true);
  const tailRows = [
    ...visitRows(2, 30, () => 'TAIL').map((r) => ({
      ...r,
      event_ts: `${tailDay}${r.event_ts.slice(10)}`,
    })),
    // Same keys and times as stored rows, ingested later: ties that must win.
    ...stored
      .filter((r) => r.event_ts.startsWith(tailDay))
      .slice(0, 30)
      .map((r) => ({ ...r, amount: -r.amount })),
  ];
  const tail = await fixture.ingest('visits', tailRows);
  expect(tail.sortedCopyWritten).toBe(false);
  return fixture;
}

describe.each(['asof', 'merge-window'] as const)(
  'a sorted copy with a key dictionary on a composite key (%s strategy)',
  (strategy) => {
    it.each(['auto', 'range-join', 'running-totals'] as const)(
      'gives the rows the files give for every view kind, awkward strings, NULL entity keys, tail-only and entity-only keys (aggregations %s)',
      async (aggregations) => {
        const fixture = await storeWithTail(strategy);
        const names = await copyNames(fixture);
        expect(names.filter((n) => n.endsWith('.keys.parquet'))).toHaveLength(1);
        const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entityRows(3), {
          aggregations,
          runningTotalsFromRows: 1,
        });
        // Only the asof join reads the dictionary (it numbers the entity rows by it).
        expect(withCopies.sql.includes('.keys.parquet')).toBe(strategy === 'asof');
        expect(withCopies.records).toEqual(withoutCopies.records);
        expect(withCopies.matchRates).toEqual(withoutCopies.matchRates);
        expect(withCopies.matchRates.every((m) => m.matched > 50)).toBe(true);
      },
    );

    it('gives the rows the files give for a pinned read over the copy and its tail', async () => {
      const fixture = await storeWithTail(strategy);
      const records = (await readManifest(offlineRoot(fixture.dataDir, 'local'))) ?? [];
      const pins = new Map(
        [...committedSeqs(records, ['visits'])].map(([source, seqs]) => [source, seqs.maxSeq]),
      );
      await fixture.ingest('visits', [
        ...visitRows(4, 30, () => 'TAIL'),
        ...visitRows(5, 30, () => 'PINNED-OUT'),
      ]);
      const entities = [
        ...entityRows(6),
        { customer_id: 'PINNED-OUT', shop_id: 1, event_timestamp: '2026-03-01T00:00:00Z' },
      ];
      const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entities, {
        pins,
      });
      expect(withCopies.sql).toContain('_sorted_copies');
      expect(withCopies.records).toEqual(withoutCopies.records);
    });

    it('gives the rows the files give to 2,000 entity rows of 5 keys against a copy of many keys', async () => {
      const fixture = await offlineFixture(definitions, strategy);
      await fixture.ingest(
        'visits',
        visitRows(7, 5_000, (next) => `K${Math.floor(next() * 2_000)}`),
      );
      const next = random(8);
      const entities = Array.from({ length: 2_000 }, () => ({
        customer_id: `K${Math.floor(next() * 5) * 400}`,
        shop_id: shopOf(next),
        event_timestamp: at(next),
      }));
      const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entities);
      expect(withCopies.sql).toContain('_sorted_copies');
      expect(withCopies.records).toEqual(withoutCopies.records);
      expect(withCopies.matchRates.every((m) => m.matched > 100)).toBe(true);
    });
  },
);

async function keepHalfOfRows(file: string): Promise<void> {
  const session = await openDuckdb();
  try {
    const half = `${file}.half`;
    await session.connection.run(
      `COPY (SELECT * FROM read_parquet('${file}') WHERE fstore_key_id % 2 = 0) TO '${half}' (FORMAT parquet)`,
    );
    await rename(half, file);
  } finally {
    session.close();
  }
}

describe('a damaged sorted copy key dictionary', () => {
  it.each([
    ['truncated', (file: string) => truncate(file, 10)],
    ['cut short (no footer)', async (file: string) => truncate(file, (await stat(file)).size - 8)],
    ['not Parquet', (file: string) => writeFile(file, 'PAR1garbagePAR1')],
    // Whole Parquet, but short of keys: without a check, their entity rows would match nothing.
    ['a Parquet file of half its keys', (file: string) => keepHalfOfRows(file)],
  ])(
    '(%s) is not read: the copy is read on its keys, and the next ingest writes both again',
    async (_, damage) => {
      const fixture = await storeWithTail();
      const dir = sortedCopiesDir(offlineRoot(fixture.dataDir, 'local'), 'visits');
      const [keys = 'none'] = (await copyNames(fixture)).filter((n) => n.endsWith('.keys.parquet'));
      await damage(path.join(dir, keys));

      const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entityRows(10));
      expect(withCopies.sql).toContain(keys.replace('.keys', ''));
      expect(withCopies.sql).not.toContain(keys);
      expect(withCopies.records).toEqual(withoutCopies.records);

      // A one-row ingest, far below the tail share: the damaged dictionary is written again.
      const next = await fixture.ingest('visits', visitRows(14, 1));
      expect(next.sortedCopyWritten).toBe(true);
      const after = await withAndWithoutCopies(fixture, entityRows(10));
      expect(after.withCopies.sql).toContain('.keys.parquet');
      expect(after.withCopies.records).toEqual(after.withoutCopies.records);
    },
  );
});

describe('the local dry run of a source with a keyed sorted copy', () => {
  it.each([
    ['asof', ['pair_amount:amount'], true],
    ['asof', ['customer_amount:amount'], true],
    ['merge-window', ['pair_amount:amount'], true],
    ['asof', ['pair_amount:amount'], false],
    ['asof', ['customer_amount:amount'], false],
    ['merge-window', ['pair_amount:amount'], false],
    ['asof', ['pair_stats:amount_sum_7d'], false],
    ['asof', 'only_halved', false],
  ] as const)(
    'names exactly the files the run reads (%s, %j, with a tail: %s)',
    async (strategy, features, withTail) => {
      const asked =
        typeof features === 'string' ? { service: features } : { features: [...features] };
      const fixture = await offlineFixture(definitions, strategy);
      await fixture.ingest('visits', visitRows(11, 3_000));
      if (withTail) await fixture.ingest('visits', visitRows(12, 5));
      const entities = entityRows(13);
      const estimate = await fixtureDryRun(fixture, entities, asked, {
        strategy,
        runningTotalsFromRows: 1,
      });
      const listed = estimate.sources.flatMap((s) => s.files.map((f) => f.path)).sort();
      const run = await fixture.trainingSet(entities, {
        request: asked,
        runningTotalsFromRows: 1,
      });
      const inSql = parquetFilesIn(run.sql);
      const runningTotals = inSql.filter((f) => f.includes('_running_totals'));
      expect(inSql.filter((f) => !runningTotals.includes(f))).toEqual(listed);
    },
  );
});

describe('a sorted copy holding rows whose key is NULL (ingested before a view made the column a key)', () => {
  it.each(['asof', 'merge-window'] as const)(
    'gives the rows the files give: the copy holds rows of NULL keys, numbered NULL (%s)',
    async (strategy) => {
      // Before: only customer_amount reads visits, so a NULL shop_id is accepted.
      const before = await offlineFixture([customer, visits, customerAmount], strategy);
      const withNullShops = (seed: number, count: number) =>
        visitRows(seed, count).map((r, i) => (i % 5 === 0 ? { ...r, shop_id: null } : r));
      await before.ingest('visits', withNullShops(20, 3_000));
      // After: the pair views make (customer_id, shop_id) the copy's order.
      const registry = compileRegistry(definitions.map((definition) => ({ definition })));
      const ingestAfter = async (rows: readonly Record<string, unknown>[]) =>
        ingestFile({
          registry,
          dataDir: before.dataDir,
          env: 'local',
          source: 'visits',
          file: await before.writeJsonl(rows),
          allowConstraintViolations: true,
        });
      expect((await ingestAfter(visitRows(21, 3_000))).sortedCopyWritten).toBe(true);
      // A tail (a NULL key cannot be ingested while a view reads the column as a key).
      const tail = await ingestAfter(
        visitRows(22, 30).map((r) => ({ ...r, event_ts: `${tailDay}${r.event_ts.slice(10)}` })),
      );
      expect(tail.sortedCopyWritten).toBe(false);

      const entities = await before.writeJsonl(entityRows(23));
      const root = offlineRoot(before.dataDir, 'local');
      const run = () =>
        getTrainingSet({
          registry,
          dataDir: before.dataDir,
          env: 'local',
          entities,
          request,
          fullFeatureNames: true,
          strategy,
        });
      const withCopies = await run();
      expect(withCopies.sql.includes('.keys.parquet')).toBe(strategy === 'asof');
      // The copy in (customer_id, shop_id) order holds the rows of NULL shop ids, numbered NULL.
      const copies = (await copyNames(before))
        .filter((n) => !n.endsWith('.keys.parquet'))
        .map((n) => `'${path.join(sortedCopiesDir(root, 'visits'), n)}'`);
      const session = await openDuckdb();
      try {
        const [nulls] = await queryRows(
          session.connection,
          `SELECT count(*) AS n FROM read_parquet([${copies.join(', ')}], union_by_name = true) WHERE shop_id IS NULL AND fstore_key_id IS NULL`,
        );
        expect(Number(nulls?.n)).toBeGreaterThan(100);
      } finally {
        session.close();
      }
      await rm(path.join(root, '_sorted_copies'), { recursive: true });
      const withoutCopies = await run();
      expect(withCopies.records).toEqual(withoutCopies.records);
    },
  );
});

describe('a sorted copy of rows with no tie on (keys, event time)', () => {
  it.each(['asof', 'merge-window'] as const)(
    'gives the rows the files give to the tie-free join on the event time alone (%s)',
    async (strategy) => {
      const fixture = await offlineFixture(definitions, strategy);
      // Each row its own minute: no two rows share keys and event time, in the copy or the tail.
      const unique = (seed: number, count: number, from: number) =>
        visitRows(seed, count).map((r, i) => ({
          ...r,
          event_ts: new Date(day0 + (from + i) * 60_000).toISOString(),
          created_ts: null,
        }));
      await fixture.ingest('visits', unique(30, 5_000, 0));
      const tail = await fixture.ingest('visits', unique(31, 20, 5_000));
      expect(tail.sortedCopyWritten).toBe(false);
      const next = random(32);
      const entities = Array.from({ length: 1_500 }, () => ({
        customer_id: customerOf(next),
        shop_id: shopOf(next),
        event_timestamp: new Date(day0 + Math.floor(next() * 5_100) * 60_000).toISOString(),
      }));
      const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entities);
      if (strategy === 'asof') expect(withCopies.sql).toContain('fstore_event_ts');
      expect(withCopies.sql.includes('.keys.parquet')).toBe(strategy === 'asof');
      expect(withCopies.records).toEqual(withoutCopies.records);
      expect(withCopies.matchRates.every((m) => m.matched > 100)).toBe(true);
    },
  );
});

describe('a sorted copy of a source with a row filter', () => {
  const filtered = defineSource({
    name: 'filtered_visits',
    schema: { customer_id: 'string', shop_id: 'int64', amount: 'float64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
    filter: 'amount >= 25',
  });
  const filteredAmount = defineFeatureView({
    name: 'filtered_amount',
    entities: [pair],
    source: filtered,
    features: { amount: 'float64' },
  });
  it.each(['asof', 'merge-window'] as const)(
    'gives the rows the files give, the filter kept over the copy and its tail (%s)',
    async (strategy) => {
      const fixture = await offlineFixture([pair, filtered, filteredAmount], strategy);
      const rows = (seed: number, count: number) =>
        visitRows(seed, count).map(({ created_ts: _, ...r }) => r);
      await fixture.ingest('filtered_visits', rows(40, 5_000));
      const tail = await fixture.ingest(
        'filtered_visits',
        rows(41, 20).map((r) => ({ ...r, event_ts: `${tailDay}${r.event_ts.slice(10)}` })),
      );
      expect(tail.sortedCopyWritten).toBe(false);
      const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entityRows(42), {
        request: { features: ['filtered_amount:amount'] },
      });
      expect(withCopies.sql).toContain('_sorted_copies');
      expect(withCopies.records).toEqual(withoutCopies.records);
      const amounts = withCopies.records?.map((r) => r.filtered_amount__amount) ?? [];
      expect(amounts.some((a) => typeof a === 'number' && a < 25)).toBe(false);
      expect(amounts.filter((a) => typeof a === 'number').length).toBeGreaterThan(100);
    },
  );
});
