import type { ScalarType } from '../definitions/value-types.ts';
import type { ExpressionType, TypedExpression } from '../expressions/index.ts';
import type { Dialect } from './dialect.ts';

/**
 * SQL for a checked expression of the derived-feature language (docs/expressions.md), the same
 * meaning on DuckDB and Athena: every operand is cast to the type the checker gave its
 * operation, so neither engine's own promotion rules decide (int32 + int32 is int64, not an
 * int32 overflow); `/` divides as float64 and `/` or `%` by zero is NULL on both (DuckDB and
 * Trino differ there: NULL, error or Infinity); least/greatest are NULL when any argument is
 * (DuckDB skips NULLs, Trino does not). Columns and text go through the dialect's quoting.
 */
export function renderExpression(expression: TypedExpression, dialect: Dialect): string {
  const render = (node: TypedExpression): string => {
    switch (node.kind) {
      case 'number':
        return node.integer
          ? `CAST(${node.text} AS ${dialect.sqlType('int64')})`
          : doubleLiteral(node.text);
      case 'string':
        return dialect.literal(node.value);
      case 'bool':
        return node.value ? 'TRUE' : 'FALSE';
      case 'null':
        return 'NULL';
      case 'column':
        return dialect.quote(node.name);
      case 'negate':
        return `(-${as(node.operand, node.type)})`;
      case 'not':
        return `(NOT ${render(node.operand)})`;
      case 'isNull':
        return `(${render(node.operand)} IS ${node.negated ? 'NOT ' : ''}NULL)`;
      case 'in': {
        const type = node.operandType ?? 'null';
        return `(${as(node.operand, type)} ${node.negated ? 'NOT ' : ''}IN (${node.list.map((item) => as(item, type)).join(', ')}))`;
      }
      case 'case': {
        const whens = node.whens.map(
          (w) => `WHEN ${render(w.when)} THEN ${as(w.result, node.type)}`,
        );
        const otherwise = node.otherwise ? [`ELSE ${as(node.otherwise, node.type)}`] : [];
        return `CASE ${[...whens, ...otherwise].join(' ')} END`;
      }
      case 'binary': {
        const op = node.operator;
        if (op === 'AND' || op === 'OR' || op === '||')
          return `(${render(node.left)} ${op} ${render(node.right)})`;
        if (op === '/')
          return `(${as(node.left, 'float64')} / NULLIF(${as(node.right, 'float64')}, 0))`;
        if (op === '%')
          return `(${as(node.left, 'int64')} % NULLIF(${as(node.right, 'int64')}, 0))`;
        if (op === '+' || op === '-' || op === '*')
          return `(${as(node.left, node.type)} ${op} ${as(node.right, node.type)})`;
        const type = node.operandType ?? 'null';
        return `(${as(node.left, type)} ${op} ${as(node.right, type)})`;
      }
      case 'call':
        return renderCall(node);
    }
  };

  const renderCall = (node: Extract<TypedExpression, { kind: 'call' }>): string => {
    const [first, digits] = node.args as [TypedExpression, TypedExpression | undefined];
    switch (node.name) {
      case 'lower':
      case 'upper':
      case 'length':
        return `${node.name}(${render(first)})`;
      case 'abs':
        return `abs(${as(first, node.type)})`;
      case 'floor':
      case 'ceil':
        return `${node.name}(${as(first, 'float64')})`;
      case 'round':
        // Both engines round a DOUBLE half away from zero, x·10^d in double arithmetic.
        return digits && digits.kind === 'number'
          ? `round(${as(first, 'float64')}, ${Number(digits.text)})`
          : `round(${as(first, 'float64')})`;
      case 'coalesce':
        return `COALESCE(${node.args.map((a) => as(a, node.type)).join(', ')})`;
      case 'least':
      case 'greatest': {
        const args = node.args.map((a) => as(a, node.type));
        return `CASE WHEN ${args.map((a) => `${a} IS NULL`).join(' OR ')} THEN NULL ELSE ${node.name}(${args.join(', ')}) END`;
      }
      case 'year':
      case 'month':
      case 'day':
      case 'hour':
      case 'minute':
        return `CAST(${node.name}(${moment(first)}) AS ${dialect.sqlType('int64')})`;
      case 'day_of_week':
        // ISO day of the week, 1 = Monday: DuckDB's isodow, Trino's day_of_week.
        return `CAST(${dialect.name === 'duckdb' ? 'isodow' : 'day_of_week'}(${moment(first)}) AS ${dialect.sqlType('int64')})`;
      default:
        throw new Error(`internal: no rendering for function ${node.name}`);
    }
  };

  /** A date part's argument: a bare NULL has no type an engine can pick an overload by. */
  const moment = (node: TypedExpression): string =>
    node.type === 'null' ? as(node, 'timestamp') : render(node);

  /** `node` as a value of `type`: cast when its own type differs (NULL gets a typed NULL). */
  const as = (node: TypedExpression, type: ExpressionType): string => {
    if (node.type === type || type === 'null') return render(node);
    if (node.kind === 'number' && node.integer && type === 'float64')
      return doubleLiteral(node.text);
    return `CAST(${render(node)} AS ${dialect.sqlType(type as ScalarType)})`;
  };

  return render(expression);
}

/** A float64 literal both engines read as DOUBLE: scientific notation (a plain 1.5 is DECIMAL). */
function doubleLiteral(text: string): string {
  const value = Number(text);
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  return `${mantissa}E${Number(exponent)}`;
}

/** A checked expression as a value of the feature type `type` (a declared wider type is cast to). */
export function renderExpressionAs(
  expression: TypedExpression,
  type: ScalarType,
  dialect: Dialect,
): string {
  const sql = renderExpression(expression, dialect);
  return expression.type === type ? sql : `CAST(${sql} AS ${dialect.sqlType(type)})`;
}
