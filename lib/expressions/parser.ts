import type { BinaryOperator, Expression } from './ast.ts';
import { ExpressionError } from './expression-error.ts';
import { type Token, tokenize } from './lexer.ts';

const keywords = new Set([
  'and',
  'or',
  'not',
  'is',
  'null',
  'true',
  'false',
  'case',
  'when',
  'then',
  'else',
  'end',
  'in',
]);

/** Binding power of infix operators: OR < AND < (NOT) < comparisons < + - || < * / %. */
const infixPower: Readonly<Record<string, number>> = {
  or: 1,
  and: 2,
  '=': 4,
  '<>': 4,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  is: 4,
  in: 4,
  not: 4, // NOT IN
  '+': 5,
  '-': 5,
  '||': 5,
  '*': 6,
  '/': 6,
  '%': 6,
};
const notPower = 3;
const negatePower = 7;
const maxDepth = 64;

/** Parses an expression of the derived-feature language into its tree (untyped). */
export function parseExpression(expression: string): Expression {
  return new Parser(expression, tokenize(expression)).parseWhole();
}

class Parser {
  private position = 0;
  private depth = 0;

  constructor(
    private readonly expression: string,
    private readonly tokens: readonly Token[],
  ) {}

  parseWhole(): Expression {
    if (this.peek().kind === 'end')
      this.fail('is empty', 0, 'write an expression, e.g. "amount * 12"');
    const tree = this.parse(0);
    const next = this.peek();
    if (next.kind !== 'end')
      this.fail(
        `unexpected ${describe(next)}`,
        next.at,
        'an expression ends here; check for a missing operator or parenthesis',
      );
    // A flat `a + a + ...` never nests in the parser but is a left-deep tree: engines refuse
    // deep trees (DuckDB past 1000 levels), so the limit holds for the tree too.
    const tooDeep = nodeAtDepth(tree, maxDepth + 1);
    if (tooDeep)
      this.fail(
        `nests deeper than ${maxDepth} levels`,
        tooDeep.at,
        'split the computation into several features',
      );
    return tree;
  }

  private parse(minPower: number): Expression {
    this.depth += 1;
    if (this.depth > maxDepth)
      this.fail(`nests deeper than ${maxDepth} levels`, this.peek().at, 'simplify the expression');
    let left = this.prefix();
    for (;;) {
      const token = this.peek();
      const operator = infixOperator(token);
      const power = operator === undefined ? undefined : infixPower[operator];
      if (operator === undefined || power === undefined || power <= minPower) break;
      this.next();
      left = this.infix(left, operator, power, token.at);
    }
    this.depth -= 1;
    return left;
  }

  private prefix(): Expression {
    const token = this.next();
    switch (token.kind) {
      case 'number':
        return { kind: 'number', at: token.at, text: token.text, integer: token.integer };
      case 'string':
        return { kind: 'string', at: token.at, value: token.value };
      case 'symbol':
        if (token.text === '(') {
          const inner = this.parse(0);
          this.expect(')', 'close the parenthesis');
          return inner;
        }
        if (token.text === '-')
          return { kind: 'negate', at: token.at, operand: this.parse(negatePower) };
        if (token.text === '+') return this.parse(negatePower);
        return this.fail(
          `unexpected ${describe(token)}`,
          token.at,
          'a value, column or function call is expected here',
        );
      case 'end':
        return this.fail('ends too early', token.at, 'complete the expression');
      case 'word':
        return this.word(token);
    }
  }

  private word(token: Extract<Token, { kind: 'word' }>): Expression {
    const lower = token.text.toLowerCase();
    if (lower === 'true' || lower === 'false')
      return { kind: 'bool', at: token.at, value: lower === 'true' };
    if (lower === 'null') return { kind: 'null', at: token.at };
    if (lower === 'not') return { kind: 'not', at: token.at, operand: this.parse(notPower) };
    if (lower === 'case') return this.caseExpression(token.at);
    if (keywords.has(lower))
      return this.fail(
        `unexpected ${lower.toUpperCase()}`,
        token.at,
        'a value, column or function call is expected here',
      );
    if (this.peekSymbol('(')) {
      this.next();
      const args: Expression[] = [];
      if (!this.peekSymbol(')')) {
        do args.push(this.parse(0));
        while (this.acceptSymbol(','));
      }
      this.expect(')', 'close the argument list, separating arguments with ","');
      return { kind: 'call', at: token.at, name: lower, args };
    }
    return { kind: 'column', at: token.at, name: token.text };
  }

  private caseExpression(at: number): Expression {
    const whens: { when: Expression; result: Expression }[] = [];
    while (this.acceptWord('when')) {
      const when = this.parse(0);
      if (!this.acceptWord('then'))
        this.fail(
          `expected THEN, found ${describe(this.peek())}`,
          this.peek().at,
          'write CASE WHEN condition THEN value ... END',
        );
      whens.push({ when, result: this.parse(0) });
    }
    if (whens.length === 0)
      this.fail(
        'CASE needs at least one WHEN',
        this.peek().at,
        'write CASE WHEN condition THEN value [ELSE value] END',
      );
    const otherwise = this.acceptWord('else') ? this.parse(0) : undefined;
    if (!this.acceptWord('end'))
      this.fail(
        `expected END, found ${describe(this.peek())}`,
        this.peek().at,
        'close the CASE with END',
      );
    return { kind: 'case', at, whens, ...(otherwise ? { otherwise } : {}) };
  }

  private infix(left: Expression, operator: string, power: number, at: number): Expression {
    if (operator === 'is') {
      const negated = this.acceptWord('not');
      if (!this.acceptWord('null'))
        this.fail(
          `expected NULL after IS${negated ? ' NOT' : ''}`,
          this.peek().at,
          'write IS NULL or IS NOT NULL',
        );
      return { kind: 'isNull', at, negated, operand: left };
    }
    if (operator === 'in' || operator === 'not') {
      if (operator === 'not' && !this.acceptWord('in'))
        this.fail(
          'expected IN after NOT',
          this.peek().at,
          'write NOT IN (...), or put NOT before the condition',
        );
      this.expect('(', 'write IN (value, ...)');
      const list: Expression[] = [];
      do list.push(this.parse(0));
      while (this.acceptSymbol(','));
      this.expect(')', 'close the list');
      return { kind: 'in', at, negated: operator === 'not', operand: left, list };
    }
    const right = this.parse(power);
    return { kind: 'binary', at, operator: operator.toUpperCase() as BinaryOperator, left, right };
  }

  private peek(): Token {
    return this.tokens[this.position] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.position += 1;
    return token;
  }

  private peekSymbol(text: string): boolean {
    const token = this.peek();
    return token.kind === 'symbol' && token.text === text;
  }

  private acceptSymbol(text: string): boolean {
    if (!this.peekSymbol(text)) return false;
    this.next();
    return true;
  }

  private acceptWord(word: string): boolean {
    const token = this.peek();
    if (token.kind !== 'word' || token.text.toLowerCase() !== word) return false;
    this.next();
    return true;
  }

  private expect(symbol: string, hint: string): void {
    if (!this.acceptSymbol(symbol))
      this.fail(`expected "${symbol}", found ${describe(this.peek())}`, this.peek().at, hint);
  }

  private fail(problem: string, at: number, hint: string): never {
    throw new ExpressionError(problem, this.expression, at, hint);
  }
}

/** A node `depth` levels down the tree (the root is level 1), if the tree is that deep. */
function nodeAtDepth(node: Expression, depth: number): Expression | undefined {
  if (depth <= 1) return node;
  for (const child of children(node)) {
    const found = nodeAtDepth(child, depth - 1);
    if (found) return found;
  }
  return undefined;
}

function children(node: Expression): readonly Expression[] {
  switch (node.kind) {
    case 'negate':
    case 'not':
    case 'isNull':
      return [node.operand];
    case 'in':
      return [node.operand, ...node.list];
    case 'binary':
      return [node.left, node.right];
    case 'case':
      return [
        ...node.whens.flatMap((w) => [w.when, w.result]),
        ...(node.otherwise ? [node.otherwise] : []),
      ];
    case 'call':
      return node.args;
    default:
      return [];
  }
}

function infixOperator(token: Token): string | undefined {
  // Own keys only: `in` would also find `constructor` and `__proto__` on Object.prototype.
  if (token.kind === 'symbol')
    return Object.hasOwn(infixPower, token.text) ? token.text : undefined;
  if (token.kind === 'word') {
    const lower = token.text.toLowerCase();
    return Object.hasOwn(infixPower, lower) ? lower : undefined;
  }
  return undefined;
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end';
    case 'number':
      return `number ${token.text}`;
    case 'string':
      return 'text literal';
    case 'word':
      return keywords.has(token.text.toLowerCase()) ? token.text.toUpperCase() : `"${token.text}"`;
    case 'symbol':
      return `"${token.text}"`;
  }
}
