/**
 * The functions of the expression language, by name: what each takes and gives
 * (docs/expressions.md lists them). Type rules live in type-check.ts, spellings per engine in
 * lib/sql/render-expression.ts.
 */
export const expressionFunctions = {
  lower: 'lower(text) → text',
  upper: 'upper(text) → text',
  length: 'length(text) → int64, in characters',
  abs: 'abs(number) → int64 or float64',
  round: 'round(number[, digits 0..15]) → float64, halves away from zero',
  floor: 'floor(number) → float64',
  ceil: 'ceil(number) → float64',
  least: 'least(a, b, ...) → smallest; NULL if any argument is NULL',
  greatest: 'greatest(a, b, ...) → largest; NULL if any argument is NULL',
  coalesce: 'coalesce(a, b, ...) → first non-NULL',
  year: 'year(timestamp) → int64',
  month: 'month(timestamp) → int64, 1..12',
  day: 'day(timestamp) → int64, 1..31',
  hour: 'hour(timestamp) → int64, 0..23',
  minute: 'minute(timestamp) → int64, 0..59',
  day_of_week: 'day_of_week(timestamp) → int64, 1 (Monday) .. 7 (Sunday)',
} as const;

export type ExpressionFunction = keyof typeof expressionFunctions;

export function isExpressionFunction(name: string): name is ExpressionFunction {
  return Object.hasOwn(expressionFunctions, name);
}

export const datePartFunctions = ['year', 'month', 'day', 'hour', 'minute', 'day_of_week'] as const;
