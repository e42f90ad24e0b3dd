import type { TypedExpression } from './ast.ts';
import { parseExpression } from './parser.ts';
import { checkExpression, type ExpressionColumn } from './type-check.ts';

export type { ExpressionType, TypedExpression } from './ast.ts';
export { expressionColumns } from './columns.ts';
export { ExpressionError } from './expression-error.ts';
export { expressionFunctions } from './functions.ts';
export { maxExpressionLength } from './lexer.ts';
export { parseExpression } from './parser.ts';
export { commonType, type ExpressionColumn } from './type-check.ts';

/** Parses and type-checks `expression` over `columns`; throws an ExpressionError naming the position. */
export function compileExpression(
  expression: string,
  columns: readonly ExpressionColumn[],
): TypedExpression {
  return checkExpression(parseExpression(expression), columns, expression);
}
