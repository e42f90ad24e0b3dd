import type { Prng } from '../../lib/demo/prng.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { paymentRow } from './push-registry.ts';

/**
 * Rows of the tile-fed view `spend` (test/helpers/tile-registry.ts) for the consistency tests of
 * materialized tile bases: random payments of three customers, and how a served value is
 * compared with the training set's.
 */
export const customers = ['K1', 'K2', 'K3'];
export const second = 1_000_000n;
export const minute = 60n * second;
export const t0 = epochMicrosOf('2026-03-01T00:00:00Z');

/** A double within the offline exact-sum boundary, of random sign and magnitude. */
export function amount(prng: Prng): number | null {
  if (prng.next() < 0.1) return null;
  const mantissa = Math.floor(prng.next() * 2 ** 53) * (prng.next() < 0.3 ? -1 : 1);
  return mantissa * 2 ** prng.int(-60, -20);
}

export const same = (got: unknown, want: unknown) => {
  if (typeof got === 'number' && typeof want === 'number') return Object.is(got, want);
  if (typeof want === 'bigint' || typeof got === 'bigint')
    return BigInt(got as bigint) === BigInt(want as bigint);
  if (typeof got === 'string' && typeof want === 'string' && !Number.isNaN(Date.parse(want)))
    return epochMicrosOf(got) === epochMicrosOf(want);
  return got === (want ?? null);
};

/** Random rows of random customers with event times in `(after, until]`, no two tied on time. */
export function rowsBetween(
  prng: Prng,
  after: bigint,
  until: bigint,
  count: number,
  taken: Set<string>,
) {
  return Array.from({ length: count }, () => {
    let event = after + 1n + BigInt(Math.floor(prng.next() * Number(until - after - 1n)));
    if (prng.next() < 0.15) event -= event % minute;
    if (event <= after) event = after + 1n;
    const id = customers[prng.int(0, customers.length - 1)] ?? 'K1';
    // Full ties (rule 2's ingest order) have a test of their own: keep event times apart here.
    while (taken.has(`${id}|${event}`)) event += 1n;
    taken.add(`${id}|${event}`);
    return paymentRow(formatMicros(event), {
      customer_id: id,
      amount: amount(prng),
      status:
        prng.next() < 0.1 ? null : (['ok', 'refunded', 'ä', '😀', 'z'][prng.int(0, 4)] ?? 'ok'),
      created_ts: prng.next() < 0.3 ? null : formatMicros(event + BigInt(prng.int(0, 5))),
    });
  });
}
