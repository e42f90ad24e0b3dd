import { describe, expect, it } from 'vitest';
import { openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import {
  chooseExactScale,
  exactScaleStatistics,
  exactSumScale,
} from '../../../lib/sql/exact-sum.ts';

/** Columns of values, each a case of the scale rule: fits, too wide a span, non-finite, none. */
const cases: Record<string, string[]> = {
  cents: ['0.01', '499.99', '123.45', '-7.5'],
  zerosAndNulls: ['0', 'NULL', '0'],
  onlyNulls: ['NULL'],
  integers: ['1', '2', '3e15'],
  spanTooWide: ['1e20', '1e-2'],
  hugeAndTiny: ['1e300', '1e-300'],
  wideButFits: ['1e15', '1e-2'],
  tooFine: ['1e-300', '2e-300'],
  infinite: ["'Infinity'", '1.5'],
  notANumber: ["'NaN'", '1.5'],
  manyLargeValues: Array.from({ length: 64 }, () => '1.7e308'),
};

describe('the exact-sum scale rule', () => {
  it('chooses the same scale in SQL (inside a query) and in TypeScript (from statistics)', async () => {
    const session = await openDuckdb();
    try {
      const chosen: Record<string, { sql: unknown; typescript: unknown }> = {};
      for (const [name, values] of Object.entries(cases)) {
        const relation = `(VALUES ${values.map((v) => `(CAST(${v} AS DOUBLE))`).join(', ')}) t(x)`;
        const [row] = await queryRows(
          session.connection,
          `SELECT ${exactSumScale('x', 'e')}, ${exactScaleStatistics('x', (part) => `"${part}"`).join(', ')} FROM ${relation}`,
        );
        const number = (value: unknown) => (value === null ? null : Number(value));
        chosen[name] = {
          sql: row?.e ?? null,
          typescript:
            chooseExactScale({
              lowest: number(row?.lo),
              magnitude: number(row?.abs),
              nonFinite: Number(row?.bad),
            }) ?? null,
        };
      }
      for (const [name, { sql, typescript }] of Object.entries(chosen))
        expect({ name, scale: typescript }).toEqual({ name, scale: sql });
      // As a window over each case's rows (how queries carry it on every row), the same scale.
      const all = Object.entries(cases).flatMap(([name, values]) =>
        values.map((v) => `('${name}', CAST(${v} AS DOUBLE))`),
      );
      const windowed = await queryRows(
        session.connection,
        `SELECT DISTINCT g, ${exactSumScale('x', 'e', 'PARTITION BY g')} FROM (VALUES ${all.join(', ')}) t(g, x)`,
      );
      expect(windowed).toHaveLength(Object.keys(cases).length);
      for (const row of windowed)
        expect({ name: row.g, scale: row.e ?? null }).toEqual({
          name: row.g,
          scale: chosen[String(row.g)]?.sql,
        });
      // The cases reach every branch: exact scales, the zero scale and each refusal.
      expect(chosen.cents?.sql).toBe(-61);
      expect(chosen.zerosAndNulls?.sql).toBe(0);
      expect(chosen.spanTooWide?.sql).toBeNull();
      expect(chosen.tooFine?.sql).toBeNull();
      expect(chosen.infinite?.sql).toBeNull();
      expect(chosen.notANumber?.sql).toBeNull();
      expect(typeof chosen.wideButFits?.sql).toBe('number');
    } finally {
      session.close();
    }
  });
});
