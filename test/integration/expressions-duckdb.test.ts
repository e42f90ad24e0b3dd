import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileExpression, type ExpressionColumn } from '../../lib/expressions/index.ts';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { renderExpression, renderExpressionAs } from '../../lib/sql/render-expression.ts';

const columns: ExpressionColumn[] = [
  { name: 'a', type: 'int32' },
  { name: 'b', type: 'int64' },
  { name: 'x', type: 'float64' },
  { name: 'f', type: 'float32' },
  { name: 's', type: 'string' },
  { name: 'ok', type: 'bool' },
  { name: 't', type: 'timestamp' },
  { name: 'n', type: 'int64' },
];

/** One row: a = 7, b = -7, x = 2.5, f = 1.5, s = 'Premium', ok = TRUE, t = Sunday, n = NULL. */
const row = `(SELECT CAST(7 AS INTEGER) AS a, CAST(-7 AS BIGINT) AS b, CAST(2.5 AS DOUBLE) AS x,
  CAST(1.5 AS FLOAT) AS f, 'Premium' AS s, TRUE AS ok, TIMESTAMP '2026-03-01 10:20:00' AS t,
  CAST(NULL AS BIGINT) AS n)`;

let duck: DuckdbSession;
beforeAll(async () => {
  duck = await openDuckdb();
});
afterAll(() => duck?.close());

const dialect = duckdbDialect('/nonexistent');

async function evaluate(text: string): Promise<{ value: unknown; sqlType: string }> {
  const sql = renderExpression(compileExpression(text, columns), dialect);
  const [result] = await queryRows(
    duck.connection,
    `SELECT ${sql} AS value, typeof(${sql}) AS sql_type FROM ${row}`,
  );
  return { value: result?.value, sqlType: String(result?.sql_type) };
}

describe('rendered expressions evaluated by DuckDB', () => {
  it.each([
    // arithmetic: integers in int64, / always in float64, by zero NULL
    ['a + a', 14, 'BIGINT'],
    ['a - a', 0, 'BIGINT'],
    ['a * a', 49, 'BIGINT'],
    ['a * 1000000000', 7000000000, 'BIGINT'],
    ['a / 2', 3.5, 'DOUBLE'],
    ['a / 0', null, 'DOUBLE'],
    ['x * 12', 30, 'DOUBLE'],
    ['f + 1', 2.5, 'DOUBLE'],
    ['1.5', 1.5, 'DOUBLE'],
    // % truncates toward zero: the sign of the dividend
    ['b % 3', -1, 'BIGINT'],
    ['a % -3', 1, 'BIGINT'],
    ['a % 0', null, 'BIGINT'],
    ['-a', -7, 'BIGINT'],
    // rounding halves away from zero
    ['round(x)', 3, 'DOUBLE'],
    ['round(-x)', -3, 'DOUBLE'],
    ['round(0.125, 2)', 0.13, 'DOUBLE'],
    ['floor(-x)', -3, 'DOUBLE'],
    ['ceil(x)', 3, 'DOUBLE'],
    ['ceil(x - 0.4)', 3, 'DOUBLE'],
    ['abs(b)', 7, 'BIGINT'],
    // text
    ["lower(s) = 'premium'", true, 'BOOLEAN'],
    ["upper(s) || '!'", 'PREMIUM!', 'VARCHAR'],
    ["length('☃é')", 2, 'BIGINT'],
    ["'B' < 'a'", true, 'BOOLEAN'],
    ["'it''s'", "it's", 'VARCHAR'],
    // NULL semantics
    ['n + 1', null, 'BIGINT'],
    ['n = n', null, 'BOOLEAN'],
    ['n IS NULL', true, 'BOOLEAN'],
    ['n IS NOT NULL', false, 'BOOLEAN'],
    ['n > 1 OR ok', true, 'BOOLEAN'],
    ['n > 1 AND ok', null, 'BOOLEAN'],
    ['n > 1 AND NOT ok', false, 'BOOLEAN'],
    ['NOT FALSE AND TRUE', true, 'BOOLEAN'],
    ['NULL = NULL', null, 'BOOLEAN'],
    ['year(NULL)', null, 'BIGINT'],
    ['coalesce(n, a, 0)', 7, 'BIGINT'],
    ['least(a, n)', null, 'BIGINT'],
    ['greatest(a, b, 3)', 7, 'BIGINT'],
    // CASE and IN
    ["CASE WHEN a > 5 THEN 'big' ELSE 'small' END", 'big', 'VARCHAR'],
    ['CASE WHEN a > 50 THEN 1 END', null, 'BIGINT'],
    ['CASE WHEN a > 50 THEN 1 ELSE 2 END', 2, 'BIGINT'],
    ['CASE WHEN ok THEN a ELSE x END', 7, 'DOUBLE'],
    ['a IN (1, 7)', true, 'BOOLEAN'],
    ['a NOT IN (1, 2.5)', true, 'BOOLEAN'],
    // date parts (2026-03-01 is a Sunday)
    ['year(t) * 100 + month(t)', 202603, 'BIGINT'],
    ['day(t) + hour(t) + minute(t)', 31, 'BIGINT'],
    ['day_of_week(t)', 7, 'BIGINT'],
  ] as [string, unknown, string][])('%s is %j as %s', async (text, value, sqlType) => {
    expect(await evaluate(text)).toEqual({ value, sqlType });
  });
});

describe('an expression read as the type its feature declares', () => {
  it.each([
    ['a', 'int64', 7, 'BIGINT'],
    ['a', 'float64', 7, 'DOUBLE'],
    ['a + a', 'int64', 14, 'BIGINT'],
    ['x', 'float64', 2.5, 'DOUBLE'],
  ] as const)('%s as %s is %j as %s', async (text, type, value, sqlType) => {
    const sql = renderExpressionAs(compileExpression(text, columns), type, dialect);
    const [result] = await queryRows(
      duck.connection,
      `SELECT ${sql} AS value, typeof(${sql}) AS sql_type FROM ${row}`,
    );
    expect({ value: result?.value, sqlType: String(result?.sql_type) }).toEqual({ value, sqlType });
  });
});
