import { describe, expect, it } from 'vitest';
import { compileExpression, ExpressionError } from '../../lib/expressions/index.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { renderExpression } from '../../lib/sql/render-expression.ts';

const columns = [{ name: 'amount', type: 'int64' as const }];

describe('words inherited from Object.prototype are not operators', () => {
  it.each(['amount constructor 1', 'amount __proto__ 1'])(
    'refuses %s as a definition error instead of rendering the word into SQL',
    (text) => {
      let rendered: string | undefined;
      try {
        rendered = renderExpression(compileExpression(text, columns), duckdbDialect('/x'));
      } catch (error) {
        expect(error).toBeInstanceOf(ExpressionError);
        return;
      }
      // Today: accepted as a bool and rendered as e.g. ("amount" CONSTRUCTOR CAST(1 AS BIGINT))
      expect.fail(`accepted and rendered: ${rendered}`);
    },
  );
});
