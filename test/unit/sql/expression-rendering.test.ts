import { describe, expect, it } from 'vitest';
import { compileExpression, type ExpressionColumn } from '../../../lib/expressions/index.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { renderExpression } from '../../../lib/sql/render-expression.ts';
import { trinoSyntaxProblems } from '../../helpers/trino-grammar.ts';

const columns: ExpressionColumn[] = [
  { name: 'age', type: 'int32' },
  { name: 'visits', type: 'int64' },
  { name: 'score', type: 'float32' },
  { name: 'plan', type: 'string' },
  { name: 'active', type: 'bool' },
  { name: 'signup_ts', type: 'timestamp' },
];
const athena = athenaDialect('fstore_dev');
const duckdb = duckdbDialect('/nonexistent');
const render = (text: string, dialect = athena) =>
  renderExpression(compileExpression(text, columns), dialect);

// The first parse builds the Trino parser's prediction cache and takes seconds on this machine.
const firstParse = 120_000;

describe('expressions rendered for Athena', () => {
  it.each([
    ['age + 1', '(CAST("age" AS BIGINT) + CAST(1 AS BIGINT))'],
    ['age / visits', '(CAST("age" AS DOUBLE) / NULLIF(CAST("visits" AS DOUBLE), 0))'],
    ['visits % 7', '("visits" % NULLIF(CAST(7 AS BIGINT), 0))'],
    ['score * 2.5', '(CAST("score" AS DOUBLE) * 2.5E0)'],
    ["lower(plan) = 'it''s'", `(lower("plan") = 'it''s')`],
    ['round(score, 2)', 'round(CAST("score" AS DOUBLE), 2)'],
    [
      'least(age, visits)',
      'CASE WHEN CAST("age" AS BIGINT) IS NULL OR "visits" IS NULL THEN NULL ELSE least(CAST("age" AS BIGINT), "visits") END',
    ],
    ['day_of_week(signup_ts)', 'CAST(day_of_week("signup_ts") AS BIGINT)'],
    ['coalesce(age, 0)', 'COALESCE(CAST("age" AS BIGINT), CAST(0 AS BIGINT))'],
  ])('renders %s as %s', (text, sql) => {
    expect(render(text)).toBe(sql);
  });

  it('differs from DuckDB only where the engines spell a function differently', () => {
    expect(render('day_of_week(signup_ts)', duckdb)).toBe('CAST(isodow("signup_ts") AS BIGINT)');
    expect(render('age / visits + length(plan)', duckdb)).toBe(
      render('age / visits + length(plan)'),
    );
  });

  it(
    'parses with the Trino grammar, every construct of the language',
    () => {
      const expressions = [
        "CASE WHEN age > 60 THEN 'senior' WHEN age >= 18 THEN 'adult' ELSE upper(plan) || '?' END",
        'NOT active AND (visits IS NOT NULL OR score <> 1.5e3) AND age NOT IN (1, 2, 3)',
        '-age % 3 + abs(visits) * floor(score) - ceil(score) / round(score, 2)',
        'greatest(age, visits, 0) + least(score, 1) + coalesce(visits, age)',
        'year(signup_ts) + month(signup_ts) + day(signup_ts) + hour(signup_ts) + minute(signup_ts) + day_of_week(signup_ts)',
        "length(plan) > 3 AND NULL IS NULL AND TRUE AND plan IN ('café', 'it''s')",
      ];
      for (const text of expressions) {
        const sql = `SELECT ${render(text)} AS "v" FROM "fstore_dev"."profiles"`;
        expect(trinoSyntaxProblems(sql), sql).toEqual([]);
      }
    },
    firstParse,
  );
});
