import type { ScalarType } from '../definitions/value-types.ts';

/**
 * The derived-feature expression language (docs/expressions.md): the parsed tree, before and
 * after type checking. Every node keeps `at`, its 0-based offset in the expression text, so an
 * error can point at it. Plain data: it is stable-JSON hashed with a view's plan.
 */
export type ExpressionType = ScalarType | 'null';

export const arithmeticOperators = ['+', '-', '*', '/', '%'] as const;
export const comparisonOperators = ['=', '<>', '<', '<=', '>', '>='] as const;
export type ArithmeticOperator = (typeof arithmeticOperators)[number];
export type ComparisonOperator = (typeof comparisonOperators)[number];
export type BinaryOperator = ArithmeticOperator | ComparisonOperator | '||' | 'AND' | 'OR';

export type Expression =
  | {
      readonly kind: 'number';
      readonly at: number;
      readonly text: string;
      readonly integer: boolean;
    }
  | { readonly kind: 'string'; readonly at: number; readonly value: string }
  | { readonly kind: 'bool'; readonly at: number; readonly value: boolean }
  | { readonly kind: 'null'; readonly at: number }
  | { readonly kind: 'column'; readonly at: number; readonly name: string }
  | { readonly kind: 'negate'; readonly at: number; readonly operand: Expression }
  | { readonly kind: 'not'; readonly at: number; readonly operand: Expression }
  | {
      readonly kind: 'binary';
      readonly at: number;
      readonly operator: BinaryOperator;
      readonly left: Expression;
      readonly right: Expression;
    }
  | {
      readonly kind: 'isNull';
      readonly at: number;
      readonly negated: boolean;
      readonly operand: Expression;
    }
  | {
      readonly kind: 'in';
      readonly at: number;
      readonly negated: boolean;
      readonly operand: Expression;
      readonly list: readonly Expression[];
    }
  | {
      readonly kind: 'case';
      readonly at: number;
      readonly whens: readonly { readonly when: Expression; readonly result: Expression }[];
      readonly otherwise?: Expression;
    }
  | {
      readonly kind: 'call';
      readonly at: number;
      readonly name: string;
      readonly args: readonly Expression[];
    };

/**
 * A checked expression: each node has its result `type`; comparisons, IN, CASE, COALESCE and
 * least/greatest also carry `operandType`, the common type their operands are compared or
 * returned as (renderers cast each operand to it, so both engines compute in the same type).
 */
export type TypedExpression = DistributeTyped<Expression>;

type DistributeTyped<E> = E extends Expression
  ? {
      readonly [K in keyof E]: E[K] extends Expression
        ? TypedExpression
        : E[K] extends readonly Expression[]
          ? readonly TypedExpression[]
          : E[K] extends readonly { when: Expression; result: Expression }[]
            ? readonly { readonly when: TypedExpression; readonly result: TypedExpression }[]
            : E[K] extends Expression | undefined
              ? TypedExpression | undefined
              : E[K];
    } & { readonly type: ExpressionType; readonly operandType?: ExpressionType }
  : never;
