import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

// Issue 14 §1: window sums and averages of ordinary doubles, with a large magnitude spread and
// cancellation, are the correctly rounded exact sum on every rendering and online.

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const stats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum', 'avg', 'count'], windows: ['7d', '30d'] } },
  online: true,
  schedule: 'rate(1 hour)',
});

const day = 86_400_000;
const m = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const ids = Array.from({ length: 40 }, (_, i) => `C${String(i).padStart(3, '0')}`);

/**
 * Per customer: ±1e15-sized values well before the windows (running totals carry them) and
 * inside them (a direct sum absorbs the small values), then many small full-precision values
 * of alternating sign, so a window's sum is small next to its terms, and a zero. The span, from 6e15 down
 * to the last bit of 5e-3, plus the count's bits, fits the 124 bits exact sums take.
 */
function generated() {
  const prng = new Prng(14);
  const rows: { customer_id: string; amount: number; event_ts: string }[] = [];
  for (const [index, id] of ids.entries()) {
    const big = (1 + prng.next()) * 1e15;
    rows.push({ customer_id: id, amount: big, event_ts: iso(m - 60 * day) });
    if (index % 2 === 0) {
      rows.push({ customer_id: id, amount: big * 3, event_ts: iso(m - 20 * day) });
      rows.push({ customer_id: id, amount: -big * 3, event_ts: iso(m - 20 * day + 1000) });
    }
    // Zeros have no exponent: they must not break the scale choice (log2 of 0).
    rows.push({ customer_id: id, amount: 0, event_ts: iso(m - 3 * day) });
    for (let i = 0; i < 60; i++)
      rows.push({
        customer_id: id,
        amount: (i % 2 === 0 ? 1 : -1) * (0.5 + prng.next() / 2) * 10 ** prng.int(-2, 3),
        event_ts: iso(m - 29 * day + Math.floor(prng.next() * 29 * day)),
      });
  }
  return rows;
}

/** A double as an exact integer times 2^-1100 (every double here is a multiple of that). */
function exact(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = exponent === 0 ? fraction : fraction | (1n << 52n);
  const scaled = mantissa << BigInt(Math.max(exponent, 1) - 1075 + 1100);
  return x < 0 ? -scaled : scaled;
}
/**
 * The double nearest n × 2^-1100 for n a multiple of 2^1000: BigInt to Number rounds to
 * nearest, ties to even, and the power of two scales exactly.
 */
const nearest = (n: bigint) => Number(n / (1n << 1000n)) * 2 ** -100;

const modes = [
  { mode: 'range join', strategy: 'asof', aggregations: 'range-join' },
  { mode: 'running totals', strategy: 'asof', aggregations: 'running-totals' },
  { mode: 'window form', strategy: 'merge-window', aggregations: 'range-join' },
] as const;

describe('window sums of doubles with a large spread and cancellation (issue 14 §1)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('are the correctly rounded exact sum on every rendering, reproducible, and online bit for bit', async () => {
    const rows = generated();
    const fixture = await offlineFixture([customer, orders, stats]);
    await fixture.ingest('orders', rows);
    const features = stats.features.map((f) => f.name);
    const at = m;
    const entities = ids.map((customer_id) => ({ customer_id, event_timestamp: iso(at) }));

    // Exact references, and how far a naive running-sum difference is from them.
    const want = new Map<string, number | null>();
    let naiveWorst = 0;
    for (const id of ids)
      for (const w of [7, 30]) {
        const inWindow = rows.filter(
          (r) =>
            r.customer_id === id &&
            Date.parse(r.event_ts) > at - w * day &&
            Date.parse(r.event_ts) <= at,
        );
        const total = inWindow.reduce((s, r) => s + exact(r.amount), 0n);
        // Low bits: n < 2^1000 × 2^-1100 would be below every value here, so none are dropped.
        expect(total % (1n << 1000n)).toBe(0n);
        const sum = inWindow.length > 0 ? nearest(total) : null;
        want.set(`${id} amount_sum_${w}d`, sum);
        want.set(`${id} amount_avg_${w}d`, sum === null ? null : sum / inWindow.length);
        want.set(`${id} amount_count_${w}d`, inWindow.length);
        let before = 0;
        let upTo = 0;
        for (const r of rows.filter((r) => r.customer_id === id)) {
          if (Date.parse(r.event_ts) <= at - w * day) before += r.amount;
          if (Date.parse(r.event_ts) <= at) upTo += r.amount;
        }
        if (sum) naiveWorst = Math.max(naiveWorst, Math.abs((upTo - before - sum) / sum));
      }
    // The data is hard: a naive running-sum difference is off by far more than 1e-9.
    expect(naiveWorst).toBeGreaterThan(1e-9);

    const offline = new Map<string, readonly Record<string, unknown>[]>();
    for (const { mode, strategy, aggregations } of modes) {
      const run = () =>
        fixture.trainingSet(entities, {
          request: { features: features.map((f) => `order_stats:${f}`) },
          strategy,
          aggregations,
        });
      const first = await run();
      const second = await run();
      expect(first.sql.includes('_running_totals'), mode).toBe(mode === 'running totals');
      expect(first.sql.includes('RANGE BETWEEN'), mode).toBe(mode === 'window form');
      let worst = 0;
      ids.forEach((id, index) => {
        for (const feature of features) {
          const got = first.records?.[index]?.[feature] ?? null;
          const expected = want.get(`${id} ${feature}`) ?? null;
          const where = `${id} ${feature} (${mode})`;
          if (typeof got === 'number' && typeof expected === 'number' && expected !== 0)
            worst = Math.max(worst, Math.abs((got - expected) / expected));
          expect(Object.is(got, expected), `${where}: ${got} vs ${expected}`).toBe(true);
          // Bit-identical when run again.
          expect(Object.is(second.records?.[index]?.[feature] ?? null, got), where).toBe(true);
        }
      });
      expect(worst, mode).toBeLessThanOrEqual(1e-12);
      offline.set(mode, first.records ?? []);
    }

    const table = 'fstore-exact-sums';
    await ensureLocalTable(client, table);
    const [run] = await materializeLocal({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      client,
      table,
      now: () => at,
    });
    expect(run?.status).toBe('succeeded');
    const online = await lookupFeatures(
      client,
      table,
      fixture.registry,
      {
        views: [
          { view: 'order_stats', features: features.map((f) => ({ feature: f, outputName: f })) },
        ],
        entities: ids.map((customer_id) => ({ customer_id })),
      },
      { now: () => at },
    );
    for (const [mode, records] of offline)
      ids.forEach((id, index) => {
        for (const feature of features) {
          const got = online[index]?.[feature]?.value ?? null;
          const offlineValue = records[index]?.[feature] ?? null;
          expect(Object.is(got, offlineValue), `${id} ${feature} online vs ${mode}`).toBe(true);
        }
      });
  });
});
