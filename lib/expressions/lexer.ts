import { ExpressionError } from './expression-error.ts';

export type Token =
  | {
      readonly kind: 'number';
      readonly at: number;
      readonly text: string;
      readonly integer: boolean;
    }
  | { readonly kind: 'string'; readonly at: number; readonly value: string }
  | { readonly kind: 'word'; readonly at: number; readonly text: string }
  | { readonly kind: 'symbol'; readonly at: number; readonly text: string }
  | { readonly kind: 'end'; readonly at: number };

/** Longest expression accepted: a feature's formula, not a program. */
export const maxExpressionLength = 2000;

const symbols = [
  '<>',
  '!=',
  '<=',
  '>=',
  '||',
  '+',
  '-',
  '*',
  '/',
  '%',
  '(',
  ')',
  ',',
  '=',
  '<',
  '>',
];
const wordPattern = /[A-Za-z_][A-Za-z0-9_]*/y;
const numberPattern = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;

/**
 * Splits an expression into tokens. Only the characters of the language are accepted, so what
 * SQL injection needs (a `;`, a comment, a double-quoted identifier, a backslash escape, a
 * look-alike quote) is a syntax error here, before any SQL is rendered.
 */
export function tokenize(expression: string): Token[] {
  if (expression.length > maxExpressionLength)
    throw new ExpressionError(
      `is ${expression.length} characters long; the limit is ${maxExpressionLength}`,
      expression.slice(0, 60),
      0,
      'split the computation, or aggregate in the source data',
    );
  const tokens: Token[] = [];
  let at = 0;
  const fail = (problem: string, offset: number, hint?: string): never => {
    throw new ExpressionError(problem, expression, offset, hint);
  };
  while (at < expression.length) {
    const char = expression[at] as string;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      at += 1;
      continue;
    }
    if (expression.startsWith('--', at) || expression.startsWith('/*', at))
      fail('comments are not allowed', at, 'remove the comment');
    if (char === "'") {
      at = readString(expression, at, tokens, fail);
      continue;
    }
    wordPattern.lastIndex = at;
    const word = wordPattern.exec(expression);
    if (word) {
      tokens.push({ kind: 'word', at, text: word[0] });
      at += word[0].length;
      continue;
    }
    numberPattern.lastIndex = at;
    const number = numberPattern.exec(expression);
    if (number) {
      const text = number[0];
      const next = expression[at + text.length];
      if (next !== undefined && /[A-Za-z0-9_.]/.test(next))
        fail(`malformed number "${text}${next}"`, at, 'separate the number from what follows');
      tokens.push({ kind: 'number', at, text, integer: /^\d+$/.test(text) });
      at += text.length;
      continue;
    }
    const symbol = symbols.find((s) => expression.startsWith(s, at));
    if (symbol) {
      tokens.push({ kind: 'symbol', at, text: symbol === '!=' ? '<>' : symbol });
      at += symbol.length;
      continue;
    }
    fail(...unexpected(char, at));
  }
  tokens.push({ kind: 'end', at: expression.length });
  return tokens;
}

function unexpected(char: string, at: number): [string, number, string] {
  const shown = /[\x21-\x7e]/.test(char)
    ? `"${char}"`
    : `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  if (char === ';')
    return [`unexpected ${shown}`, at, 'an expression is one value; remove the ";"'];
  if (char === '"' || char === '`')
    return [
      `unexpected ${shown}`,
      at,
      "name columns without quotes; write text in single quotes ('...')",
    ];
  return [
    `unexpected character ${shown}`,
    at,
    "use column names, numbers, 'text', operators + - * / % || = <> < <= > >= and functions",
  ];
}

function readString(
  expression: string,
  start: number,
  tokens: Token[],
  fail: (problem: string, offset: number, hint?: string) => never,
): number {
  let value = '';
  let at = start + 1;
  for (;;) {
    const char = expression[at];
    if (char === undefined) return fail('unterminated text literal', start, "close it with '");
    if (char === "'") {
      if (expression[at + 1] === "'") {
        value += "'";
        at += 2;
        continue;
      }
      tokens.push({ kind: 'string', at: start, value });
      return at + 1;
    }
    if (char === '\\')
      fail('backslashes are not allowed in text literals', at, "write a quote inside text as ''");
    if (char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)
      fail('control characters are not allowed in text literals', at, 'remove it');
    value += char;
    at += 1;
  }
}
