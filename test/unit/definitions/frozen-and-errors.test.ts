import { describe, expect, it } from 'vitest';
import {
  DefinitionError,
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
  formatIssue,
} from '../../../lib/definitions/index.ts';
import { customer, profiles } from './fixtures.ts';

const view = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { age: { type: 'int32', min: 0 }, plan: { type: 'string', allowedValues: ['a'] } },
  tags: { team: 'ml' },
});
const service = defineFeatureService({ name: 'model', features: [view] });

/** Runs `mutate` and returns what it threw; ES modules are strict, so writes to frozen data throw. */
function thrownBy(mutate: () => void): unknown {
  try {
    mutate();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('definition results are frozen', () => {
  it('runs in strict mode (ES module), where assigning to a frozen property throws', () => {
    const frozen = Object.freeze({ a: 1 });
    expect(
      thrownBy(() => {
        (frozen as { a: number }).a = 2;
      }),
    ).toBeInstanceOf(TypeError);
  });

  type Writable = Record<string, unknown>;
  const writable = (value: unknown) => (value ?? {}) as Writable;
  const list = (value: unknown) => (value ?? []) as unknown[];

  it.each([
    ['an entity name', () => (writable(customer).name = 'x')],
    ['an entity join key', () => (writable(customer.joinKeys[0]).type = 'int64')],
    ['the join key list', () => list(customer.joinKeys).push({})],
    ['entity tags', () => (writable(customer.tags).team = 'x')],
    ['a source column', () => (writable(profiles.schema[0]).type = 'int64')],
    ['a source field mapping', () => (writable(profiles.fieldMapping).a = 'b')],
    ['a view feature', () => (writable(view.features[0]).min = 5)],
    ['view allowed values', () => list(view.features[1]?.allowedValues).push('b')],
    ['view entities', () => list(view.entities).pop()],
    ['view tags', () => (writable(view.tags).team = 'x')],
    ['view online flag', () => (writable(view).online = true)],
    ['view select', () => (writable(view).select = () => undefined)],
    ['service features', () => list(service.features).pop()],
    ['a service feature', () => (writable(service.features[0]).outputName = 'x')],
    ['a selection', () => list(view.select().features).push({ feature: 'x' })],
  ])('refuses writes to %s', (_, mutate) => {
    expect(thrownBy(mutate)).toBeInstanceOf(TypeError);
  });

  it('leaves the caller input unfrozen and unshared', () => {
    const joinKeys = [{ name: 'card_id', type: 'string' as const }];
    const tags = { team: 'ml' };
    const entity = defineEntity({ name: 'card', joinKeys, tags });
    expect(Object.isFrozen(joinKeys)).toBe(false);
    expect(Object.isFrozen(joinKeys[0])).toBe(false);
    expect(Object.isFrozen(tags)).toBe(false);
    joinKeys.push({ name: 'other_id', type: 'string' });
    expect(entity.joinKeys).toHaveLength(1);
    const schema = { id: 'string' as const, ts: 'timestamp' as const };
    defineSource({ name: 's', schema, timestampField: 'ts' });
    expect(Object.isFrozen(schema)).toBe(false);
  });
});

describe('DefinitionError', () => {
  it('formats one issue as file, definition, field, message and fix', () => {
    expect(
      formatIssue({
        file: 'views.ts',
        definition: 'feature view "profile"',
        field: 'ttl',
        message: '"3x" is not a duration',
        hint: 'write "30d"',
      }),
    ).toBe(
      'views.ts: feature view "profile" field "ttl": "3x" is not a duration. Fix: write "30d"',
    );
    expect(formatIssue({ definition: 'entity "c"', field: '', message: 'is wrong' })).toBe(
      'entity "c": is wrong.',
    );
  });

  it('carries every issue and lists them in its message', () => {
    const error = new DefinitionError([
      { definition: 'entity "a"', field: 'name', message: 'bad', hint: 'fix a' },
      { definition: 'entity "b"', field: 'name', message: 'worse' },
    ]);
    expect(error.name).toBe('DefinitionError');
    expect(error.issues).toHaveLength(2);
    expect(error.message).toBe(
      '2 problems:\n  entity "a" field "name": bad. Fix: fix a\n  entity "b" field "name": worse.',
    );
  });

  it('adds a file to the issues that have none, keeping its cause', () => {
    const cause = new Error('root');
    const error = new DefinitionError(
      [
        { definition: 'entity "a"', field: 'name', message: 'bad' },
        { definition: 'entity "b"', field: 'name', message: 'bad', file: 'b.ts' },
      ],
      { cause },
    ).withFile('a.ts');
    expect(error.issues.map((i) => i.file)).toEqual(['a.ts', 'b.ts']);
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('a.ts: entity "a" field "name": bad.');
  });
});
