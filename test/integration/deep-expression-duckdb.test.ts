import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileExpression, ExpressionError } from '../../lib/expressions/index.ts';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { renderExpression } from '../../lib/sql/render-expression.ts';

let duck: DuckdbSession;
beforeAll(async () => {
  duck = await openDuckdb();
});
afterAll(() => duck?.close());

describe('an expression the checker accepts runs in DuckDB', () => {
  it('a long left-deep sum (under the 2000-character limit) either is refused or evaluates', async () => {
    const text = Array.from({ length: 999 }, () => 'a').join('+'); // 1997 characters
    let sql: string;
    try {
      sql = renderExpression(
        compileExpression(text, [{ name: 'a', type: 'int64' }]),
        duckdbDialect('/x'),
      );
    } catch (error) {
      expect(error).toBeInstanceOf(ExpressionError); // refused at definition time: fine
      return;
    }
    const [row] = await queryRows(
      duck.connection,
      `SELECT ${sql} AS v FROM (SELECT CAST(1 AS BIGINT) AS a)`,
    );
    expect(Number(row?.v)).toBe(999);
  });

  it('a flat sum is refused past 64 levels, naming the limit, and accepted at 64', () => {
    const sum = (terms: number) => Array.from({ length: terms }, () => 'a').join(' + ');
    const columns = [{ name: 'a', type: 'int64' as const }];
    expect(() => compileExpression(sum(64), columns)).not.toThrow();
    expect(() => compileExpression(sum(65), columns)).toThrow(/nests deeper than 64 levels/);
  });
});
