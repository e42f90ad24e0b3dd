/** A statement as IAM reads it; Effect is wider than lib/iam's (which writes only Allow). */
interface Statement {
  readonly Effect: string;
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
}

/** An IAM resource pattern as a regular expression: `*` any run of characters, `?` any one. */
function resourcePattern(resource: string): RegExp {
  const body = resource
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/**
 * Whether `statements` allow `action` on `arn` as IAM evaluates them without conditions: some
 * Allow matches and no Deny does. Enough for object keys; conditions are not evaluated.
 */
export function iamAllows(statements: readonly Statement[], action: string, arn: string): boolean {
  const matching = statements.filter(
    (s) => s.Action.includes(action) && s.Resource.some((r) => resourcePattern(r).test(arn)),
  );
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}
