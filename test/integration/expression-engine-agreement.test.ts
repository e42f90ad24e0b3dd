import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileExpression, ExpressionError } from '../../lib/expressions/index.ts';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { renderExpression } from '../../lib/sql/render-expression.ts';

const columns = [
  { name: 'b', type: 'int64' as const },
  { name: 't', type: 'timestamp' as const },
];
const row = `(SELECT CAST(9223372036854775807 AS BIGINT) AS b, TIMESTAMP '2026-03-01 10:00:00' AS t)`;

let duck: DuckdbSession;
beforeAll(async () => {
  duck = await openDuckdb();
});
afterAll(() => duck?.close());

async function run(text: string) {
  const sql = renderExpression(compileExpression(text, columns), duckdbDialect('/x'));
  return queryRows(duck.connection, `SELECT ${sql} AS v FROM ${row}`);
}

describe('docs/expressions.md promises, checked in DuckDB', () => {
  it.each(['b + 1', 'abs(b + 1)', 'coalesce(b + 1, 0) > 0'])(
    '"an int64 overflow in a value fails the query": %s',
    async (text) => {
      // Not promised inside a comparison with a constant: DuckDB's optimizer rewrites
      // b + 1 > 0 to b > -1 and answers TRUE where Trino raises "bigint addition overflow";
      // docs/expressions.md says so.
      await expect(run(text)).rejects.toThrow(/Overflow/);
    },
  );

  it.each(['year(NULL)', 'day_of_week(NULL)', 'coalesce(hour(NULL), 0)'])(
    'an expression the checker accepts (%s) binds in DuckDB, or is refused as a definition error',
    async (text) => {
      try {
        compileExpression(text, columns);
      } catch (error) {
        expect(error).toBeInstanceOf(ExpressionError);
        return;
      }
      // Today: Binder Error: Could not choose a best candidate function for "year("NULL")"
      await expect(run(text)).resolves.toBeDefined();
    },
  );
});
