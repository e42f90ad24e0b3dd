import { expect } from 'vitest';
import {
  DefinitionError,
  type DefinitionIssue,
  defineEntity,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { issueAt } from '../../helpers/definition-issues.ts';

export const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});

export const profiles = defineSource({
  name: 'profiles',
  schema: {
    customer_id: 'string',
    age: 'int32',
    plan: 'string',
    score: 'float32',
    active: 'bool',
    signup_ts: 'timestamp',
    embedding: 'list<float32>',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});

export interface ExpectedIssue {
  /** Label of the definition, e.g. `feature view "profile"`. */
  definition: string;
  /** Dotted field path, e.g. `features.age.min`. */
  field: string;
  /** A fragment of the message (string) or a pattern it must match. */
  message: string | RegExp;
  /** A fragment of the fix; every rejection must carry one. */
  hint: string | RegExp;
}

/**
 * Asserts that `build` throws a DefinitionError with exactly one issue at `expected.field`, naming
 * the definition, saying what is wrong and how to fix it, and that the error's text (what a
 * person reads) names all three. Returns the issue for further checks.
 */
export function expectRejected(build: () => unknown, expected: ExpectedIssue): DefinitionIssue {
  const issue = issueAt(build, expected.field);
  expect(issue.definition).toBe(expected.definition);
  if (typeof expected.message === 'string') expect(issue.message).toContain(expected.message);
  else expect(issue.message).toMatch(expected.message);
  expect(issue.hint, 'every rejection carries a fix').toBeTruthy();
  if (typeof expected.hint === 'string') expect(issue.hint).toContain(expected.hint);
  else expect(issue.hint).toMatch(expected.hint);

  let text = '';
  try {
    build();
  } catch (error) {
    if (error instanceof DefinitionError) text = error.message;
  }
  expect(text).toContain(expected.definition);
  if (expected.field) expect(text).toContain(`field "${expected.field}"`);
  expect(text).toContain(`Fix: ${issue.hint}`);
  return issue;
}
