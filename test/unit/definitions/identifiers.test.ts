import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureView,
  identifierProblem,
} from '../../../lib/definitions/index.ts';
import { issueAt } from '../../helpers/definition-issues.ts';
import { customer, profiles } from './fixtures.ts';

describe('identifiers', () => {
  it.each(['customer', 'c', 'customer_id', 'v2', 'a_b_c1'])('accepts %s', (name) => {
    expect(identifierProblem(name)).toBeUndefined();
  });

  it.each([
    ['Customer', 'is not a valid identifier', 'for example "customer"'],
    ['customerId', 'is not a valid identifier', 'for example "customer_id"'],
    ['1st', 'is not a valid identifier', 'rename it'],
    ['has-dash', 'is not a valid identifier', 'for example "has_dash"'],
    ['_private', 'is not a valid identifier', 'rename it'],
    ['view__feature', 'contains "__"', 'for example "view_feature"'],
    ['trailing_', 'ends with "_"', 'drop the trailing'],
    ['x'.repeat(65), 'the limit is 64', 'shorter'],
    ['select', 'reserved word in Athena/Trino', 'choose another name'],
    ['table', 'reserved word in Athena/Trino', 'choose another name'],
    ['date', 'reserved word in Athena DDL', 'choose another name'],
    ['timestamp', 'reserved word in Athena DDL', 'choose another name'],
    ['qualify', 'reserved word in DuckDB', 'choose another name'],
  ])('rejects %s', (name, message, hint) => {
    const problem = identifierProblem(name);
    expect(problem?.message).toContain(message);
    expect(problem?.hint).toContain(hint);
  });

  it('rejects a definition named with a reserved word, naming definition, field and fix', () => {
    const issue = issueAt(
      () => defineEntity({ name: 'order', joinKeys: [{ name: 'order_id', type: 'string' }] }),
      'name',
    );
    expect(issue.definition).toBe('entity "order"');
    expect(issue.message).toBe('"order" is a reserved word in Athena/Trino');
    expect(issue.hint).toContain('choose another name');
  });

  it('rejects a feature named like an fstore column, but lets a source name its time column event_ts', () => {
    const issue = issueAt(
      () =>
        defineFeatureView({
          name: 'v',
          entities: [customer],
          source: profiles,
          features: { created_ts: 'timestamp' },
        }),
      'features.created_ts',
    );
    expect(issue.message).toContain('reserved by fstore');
    expect(profiles.timestampField).toBe('event_ts');
  });
});
