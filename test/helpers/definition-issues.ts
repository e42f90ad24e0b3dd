import { DefinitionError, type DefinitionIssue } from '../../lib/definitions/index.ts';

/** The issues of the DefinitionError `build` throws; fails when it throws nothing or something else. */
export function issuesOf(build: () => unknown): DefinitionIssue[] {
  try {
    build();
  } catch (error) {
    if (error instanceof DefinitionError) return [...error.issues];
    throw error;
  }
  throw new Error('expected a DefinitionError, but the definition was accepted');
}

/** The single issue `build` reports at `field`. */
export function issueAt(build: () => unknown, field: string): DefinitionIssue {
  const issues = issuesOf(build);
  const found = issues.filter((issue) => issue.field === field);
  if (found.length !== 1)
    throw new Error(`expected one issue at "${field}", got: ${JSON.stringify(issues, null, 2)}`);
  return found[0] as DefinitionIssue;
}
