import { randomUUID } from 'node:crypto';
import { cp, readdir, truncate, utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { presentCommittedSourceFiles } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import {
  ensureRunningTotals,
  runningTotalsDir,
  runningTotalsView,
} from '../../lib/offline/running-totals.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import {
  fullBuild,
  keyIdProblems,
  noDifference,
  totalsDifference,
  withoutKeyIds,
} from '../helpers/running-totals-compare.ts';
import { seededRandom as random } from '../helpers/seeded-random.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [
    { name: 'customer_id', type: 'string' },
    { name: 'region', type: 'int64' },
  ],
});
const orders = defineSource({
  name: 'orders',
  schema: {
    customer_id: 'string',
    region: 'int64',
    amount: 'float64',
    qty: 'int64',
    category: 'string',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
/** Every function running totals hold, over a float, an integer and a string column. */
const stats = defineAggregationView({
  name: 'stats',
  entities: [customer],
  source: orders,
  aggregations: {
    amount: {
      functions: ['sum', 'count', 'avg', 'last', 'days_since_last'],
      windows: ['1d', '7d'],
    },
    qty: { functions: ['sum', 'avg', 'count', 'last'], windows: ['7d'] },
    category: { functions: ['count', 'last'], windows: ['7d'] },
  },
});

const t0 = Date.parse('2026-03-01T00:00:00Z');
const day = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

type Order = Record<string, unknown>;

/**
 * Order rows: `keys` customers in 2 regions over `days` days from `from`; NULL values about one
 * in eight; amounts in cents of either sign (never below 0.01 in magnitude, so the exact-sum
 * scale the first ingest fixes holds); some created times NULL.
 */
function orderRows(
  next: () => number,
  count: number,
  options: { keys: readonly string[]; from: number; days: number },
): Order[] {
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)] as T;
  const maybeNull = <T>(value: T) => (next() < 0.125 ? null : value);
  return Array.from({ length: count }, () => {
    const event = options.from + Math.floor(next() * options.days * 24) * 3_600_000;
    return {
      customer_id: pick(options.keys),
      region: pick([1, 2]),
      amount: maybeNull((next() < 0.3 ? -1 : 1) * (1 + Math.floor(next() * 50_000)) * 0.01),
      qty: maybeNull(Math.floor(next() * 200) - 50),
      category: maybeNull(pick(['a', 'b', 'c'])),
      event_ts: iso(event),
      created_ts: maybeNull(iso(event + Math.floor(next() * 4) * 60_000)),
    };
  });
}

const keys = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `C${from + i}`);

/** The stored totals of `stats` against a full build over the same stored rows. */
async function compareWithFullBuild(registry: Registry, dataDir: string) {
  const root = offlineRoot(dataDir, 'local');
  const dialect = duckdbDialect(root);
  const view = runningTotalsView(registry, 'stats');
  if (!view) throw new Error('stats has no running totals');
  const session = await openDuckdb();
  try {
    const totals = await ensureRunningTotals(session.connection, root, dialect, view);
    if (!totals) throw new Error('no stored rows');
    const full = await fullBuild(
      session.connection,
      dialect,
      view,
      path.join(dataDir, `full-${randomUUID()}.parquet`),
    );
    const difference = await totalsDifference(
      session.connection,
      full.relation,
      withoutKeyIds(totals.relation),
    );
    const idProblems = await keyIdProblems(
      session.connection,
      totals,
      view.joinKeys.map((k) => k.name),
    );
    const ids = await queryRows(
      session.connection,
      `SELECT customer_id, region, fstore_key_id FROM ${totals.keyIds} ORDER BY ALL`,
    );
    return { totals, full, difference, idProblems, ids };
  } finally {
    session.close();
  }
}

describe('incremental running totals', () => {
  it('equal a full build, row for row and bit for bit, after each of several ingests with late events, ties, new keys and NULLs', async () => {
    const fixture = await offlineFixture([customer, orders, stats]);
    const next = random(14);
    const first = orderRows(next, 4000, { keys: keys(1, 40), from: t0 - 60 * day, days: 60 });
    first.push({ ...(first[0] as Order), amount: 0.01 });
    const firstIngest = await fixture.ingest('orders', first);
    expect(firstIngest.runningTotals).toEqual([
      {
        view: 'stats',
        build: expect.objectContaining({ kind: 'full', reason: 'no running totals yet' }),
      },
    ]);

    const stored = [...first];
    const ingests: Order[][] = [
      // Late events for a few keys, and a new key (sorting before the others, so that
      // numbering every key again in key order would change every id).
      [
        ...orderRows(next, 30, { keys: keys(1, 3), from: t0 - 20 * day, days: 20 }),
        ...orderRows(next, 10, { keys: ['A1'], from: t0 - 5 * day, days: 5 }),
      ],
      // Ties: the same event time (and created time) as stored rows, which fstore_seq orders;
      // and rows whose values are all NULL.
      [
        ...stored.slice(10, 25).map((row, i) => ({ ...row, amount: i * 0.25, qty: i })),
        ...orderRows(next, 8, { keys: keys(4, 5), from: t0 - 3 * day, days: 3 }).map((row) => ({
          ...row,
          amount: null,
          qty: null,
          category: null,
        })),
      ],
      // Events newer than anything stored, and one very late event of one key.
      [
        ...orderRows(next, 25, { keys: keys(6, 12), from: t0, days: 2 }),
        ...orderRows(next, 1, { keys: ['C13'], from: t0 - 59 * day, days: 1 }),
      ],
      // A mix again, touching the keys of the earlier increments.
      [
        ...orderRows(next, 20, { keys: ['A1', 'C1', 'C4'], from: t0 - 10 * day, days: 12 }),
        ...stored.slice(4000, 4005).map((row) => ({ ...row, qty: 7 })),
      ],
    ];
    const increments: number[] = [];
    const readSource: boolean[] = [];
    let previousIds = (await compareWithFullBuild(fixture.registry, fixture.dataDir)).ids;
    for (const [index, rows] of ingests.entries()) {
      const ingested = await fixture.ingest('orders', rows);
      stored.push(...rows);
      expect(ingested.runningTotals, `ingest ${index + 2}`).toEqual([
        {
          view: 'stats',
          build: expect.objectContaining({
            kind: 'incremental',
            incrementRows: expect.any(Number),
          }),
        },
      ]);
      const { totals, full, difference, idProblems, ids } = await compareWithFullBuild(
        fixture.registry,
        fixture.dataDir,
      );
      expect(idProblems, `ingest ${index + 2}`).toEqual([]);
      // Keys keep their ids: an increment adds ids for new keys and renumbers none.
      expect(
        previousIds.filter(
          (old) =>
            !ids.some(
              (id) =>
                id.customer_id === old.customer_id &&
                id.region === old.region &&
                id.fstore_key_id === old.fstore_key_id,
            ),
        ),
        `ingest ${index + 2}`,
      ).toEqual([]);
      previousIds = ids;
      expect(totals.built, 'the ingest left them up to date').toBe(false);
      const [refresh] = ingested.runningTotals;
      if (refresh?.build?.kind === 'incremental') {
        increments.push(refresh.build.incrementRows);
        readSource.push(refresh.build.readSource);
      }
      expect(difference, `ingest ${index + 2}`).toEqual(
        noDifference(difference.columns.expected, difference.rows.expected),
      );
      expect(difference.rows.expected).toBeGreaterThan(3000);
      expect(totals.sumScales).toEqual(full.sumScales);
      expect(totals.sumScales.has('amount')).toBe(true);
    }
    expect(increments.every((rows) => rows > 0)).toBe(true);
    // Only the ingest with ties (new rows at a stored row's key and time) reads the source.
    expect(readSource).toEqual([false, true, false, true]);
  }, 120_000);

  it('build in full, saying why, when the new rows change a sum scale, the view changed, or the stored files changed', async () => {
    const fixture = await offlineFixture([customer, orders, stats]);
    const next = random(7);
    await fixture.ingest('orders', [
      ...orderRows(next, 300, { keys: keys(1, 20), from: t0 - 30 * day, days: 30 }),
      { ...orderRows(next, 1, { keys: ['C1'], from: t0, days: 1 })[0], amount: 0.01 },
    ]);
    const reasonOf = async (rows: Order[]) => {
      const [refresh] = (await fixture.ingest('orders', rows)).runningTotals;
      return refresh?.build?.kind === 'full' ? refresh.build.reason : refresh?.build?.kind;
    };
    const late = () => orderRows(next, 3, { keys: ['C2'], from: t0 - day, days: 1 });

    expect(await reasonOf(late())).toBe('incremental');
    // A smaller magnitude than any stored one moves the exact-sum scale of amount.
    expect(await reasonOf([{ ...(late()[0] as Order), amount: 0.001 }])).toBe(
      'the exact-sum scale of column amount changes with the new rows',
    );
    expect(await reasonOf(late())).toBe('incremental');

    // A stored file touched behind fstore's back: its line (size, mtime) is not covered.
    const root = offlineRoot(fixture.dataDir, 'local');
    const [oldest] = presentCommittedSourceFiles(root, 'orders') ?? [];
    await utimes(oldest as string, new Date(), new Date());
    expect(await reasonOf(late())).toBe(
      'stored files were rewritten or removed since the last build',
    );

    // Damaged totals: the newest file cut short.
    const dir = runningTotalsDir(root, 'orders');
    const [totalsFile] = (await readdir(dir)).filter((n) => n.endsWith('.parquet'));
    await truncate(path.join(dir, totalsFile as string), 100);
    expect(await reasonOf(late())).toMatch(/^the last totals are damaged \(.+\)$/);

    // Too many rows rebuilt: late events for every key, from the first day on.
    expect(
      await reasonOf(orderRows(next, 40, { keys: keys(1, 20), from: t0 - 30 * day, days: 1 })),
    ).toMatch(/^the increment would hold [\d,]+ rows, over 20% of the base's [\d,]+$/);

    // Another view definition over the same source: other totals, built in full.
    const changed = defineAggregationView({
      name: 'stats',
      entities: [customer],
      source: orders,
      aggregations: { amount: { functions: ['sum'], windows: ['7d'] } },
    });
    const redefined = await offlineFixture([customer, orders, changed]);
    await cp(dir, runningTotalsDir(offlineRoot(redefined.dataDir, 'local'), 'orders'), {
      recursive: true,
    });
    const [again] = (await redefined.ingest('orders', late())).runningTotals;
    expect(again?.build).toMatchObject({
      kind: 'full',
      reason: 'the view definition changed since the last build',
    });
  }, 120_000);

  it('build in full when a float sum cannot be exact (a double running sum cannot be extended bit for bit)', async () => {
    const fixture = await offlineFixture([customer, orders, stats]);
    const next = random(3);
    const rows = orderRows(next, 50, { keys: keys(1, 5), from: t0 - 10 * day, days: 10 });
    await fixture.ingest('orders', [
      ...rows,
      { ...(rows[0] as Order), amount: 1e300 },
      { ...(rows[1] as Order), amount: 1e-300 },
    ]);
    const [refresh] = (
      await fixture.ingest('orders', orderRows(next, 3, { keys: ['C1'], from: t0, days: 1 }))
    ).runningTotals;
    expect(refresh?.build).toMatchObject({
      kind: 'full',
      reason: expect.stringMatching(/^the running sum fstore_sum_amount is a double sum/),
    });
    const { difference } = await compareWithFullBuild(fixture.registry, fixture.dataDir);
    expect(difference).toEqual(noDifference(difference.columns.expected, difference.rows.expected));
  }, 60_000);
});
