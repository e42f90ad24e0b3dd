import { TrinoSQL } from 'dt-sql-parser';

/** One statement fstore sends to Athena, named by what sends it (for the error message). */
export interface NamedStatement {
  readonly name: string;
  readonly sql: string;
}

export interface TrinoSyntaxProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
  /** The statement text around the problem, on one line, with `⟨here⟩` at the position. */
  readonly excerpt: string;
}

/** Parsed with the Trino grammar of dt-sql-parser (ANTLR, from Trino's SqlBase.g4). */
const trino = new TrinoSQL();

/**
 * Athena's UNLOAD is Athena's own statement, not in Trino's grammar. Its properties are those of
 * a CTAS, so it is checked as the CTAS Trino's grammar has for the same query and properties.
 */
const unload = /^UNLOAD \(([\s\S]*)\) TO ('(?:[^']|'')*') WITH \(([^()]*)\)$/;

export function asTrinoGrammarStatement(sql: string): string {
  const match = unload.exec(sql);
  if (!match) return sql;
  const [, query, location, properties] = match;
  return `CREATE TABLE fstore_unload WITH (external_location = ${location}, ${properties}) AS ${query}`;
}

/** Syntax problems of `sql` under the Trino grammar; none when it parses. */
export function trinoSyntaxProblems(sql: string): TrinoSyntaxProblem[] {
  const text = asTrinoGrammarStatement(sql);
  const lines = text.split('\n');
  return trino.validate(text).map((error) => {
    const line = lines[error.startLine - 1] ?? '';
    const at = Math.max(0, error.startColumn - 1);
    const before = line.slice(Math.max(0, at - 60), at).trimStart();
    const after = line.slice(at, at + 60).trimEnd();
    return {
      line: error.startLine,
      column: error.startColumn,
      message: error.message,
      excerpt: `${at > 60 ? '…' : ''}${before}⟨here⟩${after}${at + 60 < line.length ? '…' : ''}`,
    };
  });
}

export class TrinoGrammarError extends Error {}

/** Throws, naming the statement, the parser's message and the text at the problem, unless it parses. */
export function assertTrinoGrammar(statement: NamedStatement): void {
  const problems = trinoSyntaxProblems(statement.sql);
  if (problems.length === 0) return;
  throw new TrinoGrammarError(
    [
      `${statement.name}: not Trino SQL (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      ...problems
        .slice(0, 3)
        .map((p) => `  line ${p.line}, column ${p.column}: ${p.message}\n    near: ${p.excerpt}`),
    ].join('\n'),
  );
}
