import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import {
  chooseExactScale,
  exactScaleStatistics,
  exactSumScale,
} from '../../../lib/sql/exact-sum.ts';

// The exact-sum scale rule at its two limits, in SQL and in TypeScript: the scale may be as low
// as 2^-1020 and the scaled sum may need up to 124 bits, both inclusive. A Stryker run found
// `>=` and `<=` could become `>` and `<`, and the magnitude's extra bit could be dropped, with
// every scale-rule test passing (none had a value at either limit).

/** Each case: values (SQL expressions) and the scale expected, undefined when sums cannot be exact. */
const cases: Record<string, { values: string[]; scale: number | undefined }> = {
  // 2^-966: its last bit is 2^-1019, the scale 2^-1020, the lowest allowed.
  'lowest scale': { values: ['power(2, -966)'], scale: -1020 },
  'one bit below the lowest scale': { values: ['power(2, -967)'], scale: undefined },
  // 1 (scale 2^-54) and a sum of magnitudes of 2^69 (2^69 + 1 rounds to it): 70 + 54 = 124 bits.
  'widest sum': { values: ['1', 'power(2, 69)'], scale: -54 },
  'one bit wider': { values: ['1', '1.5 * power(2, 69)'], scale: undefined },
};

let session: DuckdbSession;
beforeAll(async () => {
  session = await openDuckdb();
});
afterAll(() => session.close());

describe('the exact-sum scale at its limits', () => {
  for (const [name, { values, scale }] of Object.entries(cases))
    it(`${name}: ${scale ?? 'no exact scale'} in SQL and in TypeScript`, async () => {
      const relation = `(VALUES ${values.map((v) => `(CAST(${v} AS DOUBLE))`).join(', ')}) t(x)`;
      const [row] = await queryRows(
        session.connection,
        `SELECT ${exactSumScale('x', 'e')}, ${exactScaleStatistics('x', (part) => `"${part}"`).join(', ')} FROM ${relation}`,
      );
      expect(row?.e ?? undefined).toBe(scale);
      const typescript = chooseExactScale({
        lowest: row?.lo === null ? null : Number(row?.lo),
        magnitude: row?.abs === null ? null : Number(row?.abs),
        nonFinite: Number(row?.bad),
      });
      expect(typescript).toBe(scale);
    });
});
