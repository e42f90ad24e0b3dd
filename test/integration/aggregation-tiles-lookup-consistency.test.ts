import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../lib/demo/prng.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { TileItemCache } from '../../lib/online/aggregation-tiles/tile-item-cache.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileDefinitions, tileRegistry } from '../helpers/tile-registry.ts';

const registry = tileRegistry();
const spend = registry.featureViews.find((v) => v.name === 'spend');
/** Every feature tiles serve (count_distinct stays batch-fresh, so it is not compared). */
const features = (spend?.aggregations ?? [])
  .filter((a) => a.function !== 'count_distinct')
  .map((a) => a.feature);
const customers = ['K1', 'K2', 'K3'];
const second = 1_000_000n;
const minute = 60n * second;
const t0 = epochMicrosOf('2026-03-01T00:00:00Z');
let dynamo: LocalDynamo;

/** A double within the offline exact-sum boundary, of random sign and magnitude. */
function amount(prng: Prng): number | null {
  if (prng.next() < 0.1) return null;
  const mantissa = Math.floor(prng.next() * 2 ** 53) * (prng.next() < 0.3 ? -1 : 1);
  return mantissa * 2 ** prng.int(-60, -20);
}

/**
 * A timeline of pushes at increasing instants; each push's rows have event times at random
 * microseconds after the previous round's last lookup (some of them on a minute edge), and
 * each round's lookups fall at random instants between its push and the next rows. So at every
 * lookup the rows pushed so far are exactly the rows with event time <= its instant.
 */
function timeline(prng: Prng) {
  const rounds: { at: bigint; rows: Record<string, unknown>[]; lookups: bigint[] }[] = [];
  let after = t0 - 35n * 1440n * minute;
  for (let round = 0; round < 14; round++) {
    // Gaps from seconds to days, so windows of 10m, 1d and 30d all gain and lose rows.
    const gap =
      [30n * second, 7n * minute, 3n * 60n * minute, 2n * 1440n * minute][round % 4] ?? minute;
    const pushAt = after + gap + BigInt(prng.int(1, 999_999));
    const rows = Array.from({ length: prng.int(3, 9) }, () => {
      let event = after + 1n + BigInt(Math.floor(prng.next() * Number(pushAt - after - 1n)));
      if (prng.next() < 0.15) event -= event % minute;
      if (event <= after) event = after + 1n;
      const id = customers[prng.int(0, customers.length - 1)] ?? 'K1';
      return paymentRow(formatMicros(event), {
        customer_id: id,
        amount: amount(prng),
        status:
          prng.next() < 0.1 ? null : (['ok', 'refunded', 'ä', '😀', 'z'][prng.int(0, 4)] ?? 'ok'),
        created_ts: prng.next() < 0.3 ? null : formatMicros(event + BigInt(prng.int(0, 5))),
      });
    });
    const lastLookup = pushAt + gap;
    // A lookup's clock is in milliseconds: its instants are random whole milliseconds.
    const lookups = Array.from(
      { length: 4 },
      () => pushAt + BigInt(Math.floor(prng.next() * Number(lastLookup - pushAt))),
    );
    // One lookup a window (10m) after a pushed row, to the millisecond: the window's lower edge.
    const edgeRow = rows[prng.int(0, rows.length - 1)];
    if (edgeRow) lookups.push(epochMicrosOf(edgeRow.event_ts as string) + 600n * second);
    rounds.push({
      at: pushAt,
      rows,
      lookups: lookups.map((t) => t - (t % 1000n)).filter((t) => t >= pushAt && t <= lastLookup),
    });
    after = lastLookup;
  }
  return rounds;
}

const same = (got: unknown, want: unknown) => {
  if (typeof got === 'number' && typeof want === 'number') return Object.is(got, want);
  if (typeof want === 'bigint' || typeof got === 'bigint')
    return BigInt(got as bigint) === BigInt(want as bigint);
  if (typeof got === 'string' && typeof want === 'string' && !Number.isNaN(Date.parse(want)))
    return epochMicrosOf(got) === epochMicrosOf(want);
  return got === (want ?? null);
};

describe('a tile-fed aggregation view looked up between pushes, against the training-set SQL on DuckDB', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('answers every feature bit for bit as the training set at the same instant over the same rows', async () => {
    const prng = new Prng(2026);
    const rounds = timeline(prng);
    const client = localDynamoClient(dynamo.endpoint);
    const table = 'fstore-tiles-lookup-consistency';
    await ensureLocalTable(client, table);
    // Lookups without a process cache of tile items, through one cache for the whole timeline
    // (each push must show through it), and through a new cache each (cold: one round).
    const tileCache = new TileItemCache();
    const lookupAt = async (at: bigint, cached: false | 'shared' | 'cold') =>
      lookupFeatures(
        client,
        table,
        registry,
        {
          views: [
            { view: 'spend', features: features.map((f) => ({ feature: f, outputName: f })) },
          ],
          entities: customers.map((customer_id) => ({ customer_id })),
        },
        {
          now: () => Number(at / 1000n),
          ...(cached === 'shared' ? { tileCache } : {}),
          ...(cached === 'cold' ? { tileCache: new TileItemCache() } : {}),
        },
      );
    const online: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
    for (const round of rounds) {
      await executePush(
        { registry, online: { client, table }, now: () => Number(round.at / 1000n) },
        defaultPushLimits,
        'payments',
        { rows: round.rows, to: 'online' },
      );
      for (const at of round.lookups)
        for (const cached of [false, 'shared', 'cold'] as const) {
          const results = await lookupAt(at, cached);
          for (const [i, result] of results.entries())
            online.push({
              at,
              customer: customers[i] as string,
              values: Object.fromEntries(features.map((f) => [f, result[f]?.value ?? null])),
            });
        }
    }
    const fixture = await offlineFixture(tileDefinitions());
    await fixture.ingest(
      'payments',
      rounds.flatMap((r) => r.rows),
    );
    const offline = await fixture.trainingSet(
      online.map((o) => ({ customer_id: o.customer, event_timestamp: formatMicros(o.at) })),
      { request: { features: features.map((f) => `spend:${f}`) } },
    );
    const mismatches: string[] = [];
    online.forEach((o, i) => {
      for (const f of features) {
        const want = offline.records?.[i]?.[f] ?? null;
        const got = o.values[f] ?? null;
        if (!same(got, want))
          mismatches.push(
            `${o.customer} ${f} at ${formatMicros(o.at)}: ${String(got)} vs ${String(want)}`,
          );
      }
    });
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(online.length).toBeGreaterThan(100);
    // The windows were not all empty: most lookups see rows in the 1d and 30d windows.
    const filled = online.filter((o) => (o.values.amount_count_30d as number) > 0).length;
    expect(filled).toBeGreaterThan(online.length / 2);
  }, 600_000);
});
