import { didYouMean } from '../closest-names.ts';
import { isNumericType, listElementType, type ValueType } from '../definitions/value-types.ts';
import type { Expression, ExpressionType, TypedExpression } from './ast.ts';
import { ExpressionError } from './expression-error.ts';
import { datePartFunctions, expressionFunctions, isExpressionFunction } from './functions.ts';

export interface ExpressionColumn {
  readonly name: string;
  readonly type: ValueType;
}

const maxRoundDigits = 15;

/**
 * Types an expression against the columns it may read. The rules (docs/expressions.md):
 * integers widen to int64, any float makes float64 (int32 → int64 → float64, float32 → float64);
 * + - * of integers is int64, of any float float64; / is always float64; % takes integers;
 * comparisons need comparable types (numbers with numbers, text with text, ...), text against a
 * number is an error; NULL takes the type of what it meets.
 */
export function checkExpression(
  tree: Expression,
  columns: readonly ExpressionColumn[],
  expression: string,
): TypedExpression {
  const types = new Map(columns.map((c) => [c.name, c.type]));
  const fail = (problem: string, at: number, hint?: string): never => {
    throw new ExpressionError(problem, expression, at, hint);
  };

  const common = (items: readonly TypedExpression[], what: string): ExpressionType =>
    items.reduce<ExpressionType>((type, item) => {
      const joined = commonType(type, item.type);
      if (joined === undefined)
        fail(
          `${what} mixes ${type} and ${item.type}`,
          item.at,
          'make both sides the same kind: numbers with numbers, text with text',
        );
      return joined as ExpressionType;
    }, 'null');

  const need = (
    item: TypedExpression,
    ok: (t: ExpressionType) => boolean,
    what: string,
    role: string,
  ) => {
    if (!ok(item.type)) fail(`${role} must be ${what}, but is ${item.type}`, item.at);
  };
  const numeric = (t: ExpressionType) => t === 'null' || isNumericType(t);
  const integer = (t: ExpressionType) => t === 'null' || t === 'int32' || t === 'int64';
  const bool = (t: ExpressionType) => t === 'null' || t === 'bool';
  const text = (t: ExpressionType) => t === 'null' || t === 'string';
  const timestamp = (t: ExpressionType) => t === 'null' || t === 'timestamp';

  const check = (node: Expression): TypedExpression => {
    switch (node.kind) {
      case 'number':
        if (node.integer && BigInt(node.text) > 9223372036854775807n)
          fail(
            `integer ${node.text} does not fit in int64`,
            node.at,
            'write it as a decimal, e.g. 1.0e19',
          );
        if (!node.integer && !Number.isFinite(Number(node.text)))
          fail(`number ${node.text} is out of range`, node.at);
        return { ...node, type: node.integer ? 'int64' : 'float64' };
      case 'string':
        return { ...node, type: 'string' };
      case 'bool':
        return { ...node, type: 'bool' };
      case 'null':
        return { ...node, type: 'null' };
      case 'column': {
        const type = types.get(node.name);
        if (type === undefined)
          return fail(
            `unknown column "${node.name}"${didYouMean(node.name, types.keys())}`,
            node.at,
            `use a column of the source: ${[...types.keys()].join(', ')}`,
          );
        if (listElementType(type))
          fail(`column "${node.name}" is a ${type}; lists cannot be used in expressions`, node.at);
        return { ...node, type: type as ExpressionType };
      }
      case 'negate': {
        const operand = check(node.operand);
        need(operand, numeric, 'a number', 'the operand of unary -');
        return { ...node, operand, type: integer(operand.type) ? 'int64' : 'float64' };
      }
      case 'not': {
        const operand = check(node.operand);
        need(operand, bool, 'a condition (bool)', 'the operand of NOT');
        return { ...node, operand, type: 'bool' };
      }
      case 'isNull':
        return { ...node, operand: check(node.operand), type: 'bool' };
      case 'in': {
        const operand = check(node.operand);
        const list = node.list.map(check);
        const operandType = common([operand, ...list], 'IN');
        return { ...node, operand, list, type: 'bool', operandType };
      }
      case 'case': {
        const whens = node.whens.map(({ when, result }) => {
          const condition = check(when);
          need(condition, bool, 'a condition (bool)', 'a WHEN');
          return { when: condition, result: check(result) };
        });
        const otherwise = node.otherwise ? check(node.otherwise) : undefined;
        const results = [...whens.map((w) => w.result), ...(otherwise ? [otherwise] : [])];
        const type = common(results, 'CASE');
        return {
          kind: 'case',
          at: node.at,
          whens,
          ...(otherwise ? { otherwise } : {}),
          type,
          operandType: type,
        };
      }
      case 'binary': {
        const left = check(node.left);
        const right = check(node.right);
        const op = node.operator;
        const side = (which: string) => `the ${which} side of ${op}`;
        if (op === 'AND' || op === 'OR') {
          need(left, bool, 'a condition (bool)', side('left'));
          need(right, bool, 'a condition (bool)', side('right'));
          return { ...node, left, right, type: 'bool' };
        }
        if (op === '||') {
          need(left, text, 'text', side('left'));
          need(right, text, 'text', side('right'));
          return { ...node, left, right, type: 'string' };
        }
        if (op === '%') {
          need(left, integer, 'an integer', side('left'));
          need(right, integer, 'an integer', side('right'));
          return { ...node, left, right, type: 'int64' };
        }
        if (op === '+' || op === '-' || op === '*' || op === '/') {
          need(left, numeric, 'a number', side('left'));
          need(right, numeric, 'a number', side('right'));
          const type =
            op !== '/' && integer(left.type) && integer(right.type) ? 'int64' : 'float64';
          return { ...node, left, right, type };
        }
        const operandType = common([left, right], `comparison ${op}`);
        return { ...node, left, right, type: 'bool', operandType };
      }
      case 'call':
        return checkCall(node);
    }
  };

  const checkCall = (node: Extract<Expression, { kind: 'call' }>): TypedExpression => {
    const name = node.name;
    if (!isExpressionFunction(name))
      return fail(
        `unknown function "${name}"${didYouMean(name, Object.keys(expressionFunctions))}`,
        node.at,
        `the functions are ${Object.keys(expressionFunctions).join(', ')}`,
      );
    const args = node.args.map(check);
    const arity = (min: number, max: number) => {
      if (args.length < min || args.length > max)
        fail(
          `${name} takes ${min === max ? min : max === Infinity ? `at least ${min}` : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${args.length}`,
          node.at,
          `write ${expressionFunctions[name]}`,
        );
    };
    const first = args[0] as TypedExpression;
    switch (name) {
      case 'lower':
      case 'upper':
        arity(1, 1);
        need(first, text, 'text', `${name}'s argument`);
        return { ...node, args, type: 'string' };
      case 'length':
        arity(1, 1);
        need(first, text, 'text', `length's argument`);
        return { ...node, args, type: 'int64' };
      case 'abs':
        arity(1, 1);
        need(first, numeric, 'a number', `abs's argument`);
        return { ...node, args, type: integer(first.type) ? 'int64' : 'float64' };
      case 'floor':
      case 'ceil':
        arity(1, 1);
        need(first, numeric, 'a number', `${name}'s argument`);
        return { ...node, args, type: 'float64' };
      case 'round': {
        arity(1, 2);
        need(first, numeric, 'a number', `round's first argument`);
        const digits = node.args[1];
        if (
          digits !== undefined &&
          (digits.kind !== 'number' || !digits.integer || Number(digits.text) > maxRoundDigits)
        )
          fail(`round's digits must be a whole number 0 to ${maxRoundDigits}`, digits.at);
        return { ...node, args, type: 'float64' };
      }
      case 'least':
      case 'greatest':
      case 'coalesce': {
        arity(name === 'coalesce' ? 1 : 2, Infinity);
        const operandType = common(args, name);
        if (name !== 'coalesce' && operandType === 'bool')
          fail(`${name} compares numbers, text or timestamps, not bool`, node.at);
        return { ...node, args, type: operandType, operandType };
      }
      default:
        if ((datePartFunctions as readonly string[]).includes(name)) {
          arity(1, 1);
          need(first, timestamp, 'a timestamp', `${name}'s argument`);
          return { ...node, args, type: 'int64' };
        }
        throw new Error(`internal: function ${name} has no type rule`);
    }
  };

  return check(tree);
}

/** The type two values are compared or returned as, or undefined when they do not mix. */
export function commonType(a: ExpressionType, b: ExpressionType): ExpressionType | undefined {
  if (a === b) return a;
  if (a === 'null') return b;
  if (b === 'null') return a;
  if (isNumericType(a) && isNumericType(b)) {
    const integers = (t: string) => t === 'int32' || t === 'int64';
    return integers(a) && integers(b) ? 'int64' : 'float64';
  }
  return undefined;
}
