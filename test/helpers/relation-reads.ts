/**
 * How many times a query reads `relation` as Trino runs it: Trino evaluates a WITH query once
 * per reference, so each reference to a CTE is inlined (innermost first) before counting.
 * Made for the SQL fstore renders (CTEs named `[a-z_][a-z0-9_]*`, read by `FROM` or `JOIN`).
 */
export function relationReads(sql: string, relation: string): number {
  let text = sql;
  for (let definition = innermostCte(text); definition; definition = innermostCte(text)) {
    const { name, body, start, end } = definition;
    text = `${text.slice(0, start)}${text.slice(end)}`.replace(
      new RegExp(`\\b(FROM|JOIN)\\s+${name}\\b`, 'g'),
      (_, keyword: string) => `${keyword} (${body}) ${name}`,
    );
  }
  return text.split(relation).length - 1;
}

const definitionStart = /(\bWITH|,)\s*([a-z_][a-z0-9_]*)\s+AS\s*\(/gi;

/** The first CTE definition whose body defines no other, with the span to cut out. */
function innermostCte(
  sql: string,
): { name: string; body: string; start: number; end: number } | undefined {
  for (const match of sql.matchAll(definitionStart)) {
    const open = match.index + match[0].length;
    const close = closingParenthesis(sql, open);
    const body = sql.slice(open, close);
    if (new RegExp(definitionStart.source, 'i').test(body)) continue;
    const name = match[2] ?? '';
    // Keep the WITH for the next definition of the same list; drop a leading comma.
    const keyword = match[1] ?? '';
    return {
      name,
      body,
      start: match.index + (keyword.toUpperCase() === 'WITH' ? keyword.length : 0),
      end: close + 1,
    };
  }
  return undefined;
}

/** Index of the `)` closing the parenthesis opened just before `from`, skipping quoted text. */
function closingParenthesis(sql: string, from: number): number {
  let depth = 1;
  let quote: string | undefined;
  for (let i = from; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth += 1;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parenthesis after offset ${from} in: ${sql.slice(0, 200)}`);
}
