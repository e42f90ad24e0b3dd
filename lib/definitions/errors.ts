/** One problem found in a definition: which definition, which field, what is wrong, how to fix it. */
export interface DefinitionIssue {
  /** Human label of the definition, e.g. `feature view "customer_profile"`. */
  readonly definition: string;
  /** Dotted path of the field inside the definition, e.g. `features.age.min`; empty for the whole definition. */
  readonly field: string;
  readonly message: string;
  readonly hint?: string;
  /** File the definition came from, relative to the definitions folder, when known. */
  readonly file?: string;
  /** Line in `file` of the define call (from the error's stack at load time), when known. */
  readonly line?: number;
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
