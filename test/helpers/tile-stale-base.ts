import type { Prng } from '../../lib/demo/prng.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { writeBaseTiles } from '../../lib/online/aggregation-tiles/write-base-tiles.ts';
import { paymentRow } from './push-registry.ts';
import type { tileEnvironment } from './tile-materialization-environment.ts';
import { minute, rowsBetween } from './tile-payment-rows.ts';

// A tile environment whose customer K1 has no offline row in the 30-day window but a stored
// base there (rows since erased offline, or no longer the base's): what a run must clear.
type Env = Awaited<ReturnType<typeof tileEnvironment>>;

export const prefixOf = (env: Env, customer: string) =>
  `${env.fixture.registry.featureViews.find((v) => v.name === 'spend')?.onlineStore.keyPrefix}#customer_id=${customer}`;

/** Rows of K2 and K3 in the last 20 days before `at`, and one of K1 dated before the 30-day window. */
export async function ingestWithK1OutsideWindow(env: Env, prng: Prng, at: bigint) {
  const rows = rowsBetween(prng, at - 20n * 1440n * minute, at, 24, new Set()).filter(
    (row) => row.customer_id !== 'K1',
  );
  rows.push(
    paymentRow(formatMicros(at - 40n * 1440n * minute), {
      customer_id: 'K1',
      amount: 2.5,
      status: 'ok',
    }),
  );
  await env.fixture.ingest('payments', rows);
}

/** A base of 8 rows no offline store has, written for K1 at sequence 0 as of `at`. */
export async function writeStaleK1Base(env: Env, prng: Prng, at: bigint) {
  await writeBaseTiles(
    {
      client: env.client,
      table: env.table,
      prefix: prefixOf(env, 'K1'),
      sumKinds: { amount: 'float', status: 'none' },
      widestWindowSeconds: 30 * 86_400,
    },
    rowsBetween(prng, at - 25n * 1440n * minute, at, 8, new Set()).map((row, i) => ({
      eventMicros: epochMicrosOf(String(row.event_ts)),
      createdMicros: null,
      seq: BigInt(i),
      values: { amount: 1000 + i, status: 'gone' },
    })),
    0n,
    { nowMs: Number(at / 1000n) },
  );
}

/** K1's tile items (minute items and blocks) as stored. */
export const k1TileItems = async (env: Env) =>
  [...(await env.tileItems())]
    .filter(([key]) => key.startsWith(`${prefixOf(env, 'K1')}|`))
    .map(([, item]) => item);
