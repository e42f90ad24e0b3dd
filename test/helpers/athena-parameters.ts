import { TrinoSQL, TrinoSqlListener } from 'dt-sql-parser';
import { asTrinoGrammarStatement, type NamedStatement } from './trino-grammar.ts';

/** A `?` of a statement outside a WHERE clause: where it is and the clause that holds it. */
export interface MisplacedParameter {
  readonly line: number;
  readonly column: number;
  /** The nearest clause holding the `?`: "select item", "VALUES", "join condition" ... */
  readonly clause: string;
}

const trino = new TrinoSQL();

type ParameterNode = Parameters<NonNullable<TrinoSqlListener['enterParameter']>>[0];
type TreeNode = Pick<ParameterNode, 'ruleIndex' | 'start'> & { parent: TreeNode | null };

/**
 * The grammar rules that end a `?`'s clause, with how a message names them. The nearest of these
 * above a parameter must be `whereClause`: a `?` in a subquery of a WHERE meets that subquery's
 * select item, VALUES or ORDER BY first, so it is refused too.
 */
const clauseNames: Record<string, string> = {
  whereClause: 'WHERE',
  selectItem: 'select item',
  joinCriteria: 'join condition',
  havingClause: 'HAVING',
  groupBy: 'GROUP BY',
  sortItem: 'ORDER BY',
  windowSpecification: 'window',
  limitRowCount: 'LIMIT',
  rowCount: 'OFFSET or FETCH',
  queryPrimary: 'query',
  querySpecification: 'query',
  relationPrimary: 'FROM',
  query: 'query',
  statement: 'statement',
};

/**
 * Athena accepts `?` parameters only in WHERE clauses ("Syntax like SELECT ? FROM table is not
 * supported"); each `?` of `sql` that is elsewhere, found in the Trino grammar's parse tree.
 */
export function parametersOutsideWhere(sql: string): MisplacedParameter[] {
  const text = asTrinoGrammarStatement(sql);
  const ruleNames = trino.createParser(text).ruleNames;
  const misplaced: MisplacedParameter[] = [];
  class ParameterFinder extends TrinoSqlListener {
    override enterParameter = (parameter: ParameterNode) => {
      const ruleOf = (node: TreeNode) => ruleNames[node.ruleIndex] ?? '';
      let clause: TreeNode | null = parameter.parent;
      while (clause && !(ruleOf(clause) in clauseNames)) clause = clause.parent;
      const rule = clause ? ruleOf(clause) : 'statement';
      if (rule === 'whereClause') return;
      const isValues = rule === 'queryPrimary' && clause?.start?.text?.toUpperCase() === 'VALUES';
      misplaced.push({
        line: parameter.start?.line ?? 0,
        column: (parameter.start?.column ?? 0) + 1,
        clause: isValues ? 'VALUES' : (clauseNames[rule] ?? rule),
      });
    };
  }
  trino.listen(new ParameterFinder(), trino.parse(text));
  return misplaced;
}

/** Throws, naming the statement and each `?` outside a WHERE clause with its clause. */
export function assertParametersOnlyInWhere(statement: NamedStatement): void {
  const misplaced = parametersOutsideWhere(statement.sql);
  if (misplaced.length === 0) return;
  throw new Error(
    [
      `${statement.name}: ${misplaced.length} "?" outside a WHERE clause (Athena accepts parameters only there)`,
      ...misplaced.map((p) => `  line ${p.line}, column ${p.column}: in a ${p.clause}`),
    ].join('\n'),
  );
}
