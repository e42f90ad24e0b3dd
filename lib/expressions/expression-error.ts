import { HintedError } from '../hinted-error.ts';

/**
 * A problem in a derived-feature expression or a source row filter: what is wrong, where (the
 * 0-based `offset` into `expression`) and how to fix it. The message names the column (1-based)
 * and quotes the expression; `pointer()` draws it with a caret under the offending character.
 */
export class ExpressionError extends HintedError {
  constructor(
    readonly problem: string,
    readonly expression: string,
    readonly offset: number,
    hint: string | undefined,
  ) {
    super(
      `${problem} at column ${offset + 1} of ${JSON.stringify(expression)}`,
      hint ?? 'see the expression language in docs/expressions.md',
    );
  }

  /** The expression on one line and a caret under the offending character on the next. */
  pointer(indent = '  '): string {
    const shown = this.expression.replace(/[\r\n\t]/g, ' ');
    return `${indent}${shown}\n${indent}${' '.repeat(this.offset)}^`;
  }
}
