import type { Expression, TypedExpression } from './ast.ts';

/** The column names an expression reads, each once, in first-use order. */
export function expressionColumns(expression: Expression | TypedExpression): string[] {
  const found = new Set<string>();
  const visit = (node: Expression | TypedExpression): void => {
    switch (node.kind) {
      case 'column':
        found.add(node.name);
        return;
      case 'negate':
      case 'not':
      case 'isNull':
        visit(node.operand);
        return;
      case 'in':
        visit(node.operand);
        node.list.forEach(visit);
        return;
      case 'binary':
        visit(node.left);
        visit(node.right);
        return;
      case 'case':
        for (const w of node.whens) {
          visit(w.when);
          visit(w.result);
        }
        if (node.otherwise) visit(node.otherwise);
        return;
      case 'call':
        node.args.forEach(visit);
        return;
      default:
        return;
    }
  };
  visit(expression);
  return [...found];
}
