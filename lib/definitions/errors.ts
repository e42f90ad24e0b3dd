/** One problem found in a definition: which definition, which field, what is wrong, how to fix it. */
export interface DefinitionIssue {
  /** Human label of the definition, e.g. `feature view "customer_profile"`. */
  readonly definition: string;
  /**
   * Path of the field inside the definition, list items named by their name or value (by
   * position, `[#2]`, only when they have neither): `features.age.min`,
   * `joinKeys[customer_id].type`, `features[last_order].amount` (a service's selection of view
   * last_order); empty for the whole definition.
   */
  readonly field: string;
  readonly message: string;
  readonly hint?: string;
  /** File the definition came from, relative to the definitions folder, when known. */
  readonly file?: string;
  /** Line in `file` of the define call (from the error's stack at load time), when known. */
  readonly line?: number;
}

/**
 * The field of one item of the list `list`, named by what it is: its name or value
 * (`joinKeys[customer_id]`, `aggregations.amount.functions[median]`), or its 1-based position
 * (`joinKeys[#2]`) when it has neither. A label that is not a plain word is quoted.
 */
export function listItemField(list: string, item: string | number | { position: number }): string {
  const label =
    typeof item === 'object'
      ? `#${item.position}`
      : typeof item === 'number'
        ? String(item)
        : /^[A-Za-z0-9_]+$/.test(item)
          ? item
          : JSON.stringify(item);
  return `${list}[${label}]`;
}

export function formatIssue(issue: DefinitionIssue): string {
  const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}` : ''}: ` : '';
  const field = issue.field ? ` field "${issue.field}"` : '';
  const hint = issue.hint ? ` Fix: ${issue.hint}` : '';
  return `${where}${issue.definition}${field}: ${issue.message}.${hint}`;
}

/** Raised when one or more definitions are invalid. Carries every issue found, not just the first. */
export class DefinitionError extends Error {
  readonly issues: readonly DefinitionIssue[];

  constructor(issues: readonly DefinitionIssue[], options?: { cause?: unknown }) {
    const lines = issues.map(formatIssue);
    super(
      lines.length === 1 ? (lines[0] ?? '') : `${lines.length} problems:\n  ${lines.join('\n  ')}`,
      options,
    );
    this.name = 'DefinitionError';
    this.issues = issues;
  }

  withFile(file: string, line?: number): DefinitionError {
    return new DefinitionError(
      this.issues.map((issue) =>
        issue.file ? issue : { ...issue, file, ...(line !== undefined ? { line } : {}) },
      ),
      { cause: this.cause },
    );
  }
}
