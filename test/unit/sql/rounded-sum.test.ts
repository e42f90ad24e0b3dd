import { describe, expect, it } from 'vitest';
import { openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { roundedSum } from '../../../lib/sql/exact-sum.ts';

/** Integers below 2^125 in magnitude, many of them ties, near-ties and all-ones runs. */
function hardIntegers(count: number): bigint[] {
  let seed = 987654321n;
  const next = () => {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    return seed;
  };
  const values = [0n, 1n, -1n, 1n << 124n, -(1n << 124n), (1n << 53n) + 1n];
  for (let i = 0; i < count; i++) {
    const bits = 1 + Number(next() % 124n);
    let v = (((next() << 64n) | next()) & ((1n << BigInt(bits)) - 1n)) | (1n << BigInt(bits - 1));
    const low = BigInt(Math.max(bits - 53, 1));
    const top = (v >> low) << low;
    if (bits > 54 && i % 3 === 0) v = top | (1n << (low - 1n)); // exactly half way
    if (bits > 54 && i % 5 === 0) v = top | ((1n << (low - 1n)) - 1n); // just below half
    if (bits > 54 && i % 7 === 0) v = top | ((1n << (low - 1n)) + 1n); // just above half
    if (i % 11 === 0) v = (1n << BigInt(bits)) - 1n; // rounds up to a power of two
    values.push(i % 2 ? -v : v);
  }
  return values;
}

describe('roundedSum on DuckDB', () => {
  it('is the double nearest the exact integer times 2^scale, ties to even, like BigInt to Number', async () => {
    const session = await openDuckdb();
    try {
      const values = hardIntegers(20_000);
      await session.connection.run('CREATE TABLE t (v HUGEINT)');
      const appender = await session.connection.createAppender('t');
      for (const v of values) {
        appender.appendHugeInt(v);
        appender.endRow();
      }
      appender.closeSync();
      for (const scale of [0, -61, 7]) {
        const sql = `SELECT v, ${roundedSum('v', String(scale), duckdbDialect('/unused'))} AS d FROM t`;
        const rows = (await session.connection.runAndReadAll(sql)).getRows();
        const wrong = rows.filter(([v, d]) => !Object.is(Number(v as bigint) * 2 ** scale, d));
        expect(rows).toHaveLength(values.length);
        expect(wrong.slice(0, 3)).toEqual([]);
      }
    } finally {
      session.close();
    }
  });
});
