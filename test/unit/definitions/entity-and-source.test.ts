import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineSource,
  type SourceInput,
  valueTypes,
} from '../../../lib/definitions/index.ts';
import { issuesOf } from '../../helpers/definition-issues.ts';
import { expectRejected } from './fixtures.ts';

const allTypes = valueTypes.join(', ');

describe('defineEntity', () => {
  it.each(['string', 'int32', 'int64'] as const)('accepts a %s join key', (type) => {
    const entity = defineEntity({ name: 'card', joinKeys: [{ name: 'card_id', type }] });
    expect(entity).toEqual({
      kind: 'entity',
      name: 'card',
      joinKeys: [{ name: 'card_id', type }],
      tags: {},
    });
  });

  it('accepts a composite key and keeps metadata, with tags sorted by key', () => {
    const entity = defineEntity({
      name: 'card',
      joinKeys: [
        { name: 'bank_id', type: 'int32' },
        { name: 'card_number', type: 'string' },
      ],
      description: 'A payment card',
      owner: 'risk@example.com',
      tags: { z: '1', a: '2' },
    });
    expect(entity.joinKeys.map((k) => k.name)).toEqual(['bank_id', 'card_number']);
    expect(entity.description).toBe('A payment card');
    expect(entity.owner).toBe('risk@example.com');
    expect(Object.keys(entity.tags)).toEqual(['a', 'z']);
  });

  it.each(['float64', 'float32', 'bool', 'timestamp', 'list<string>'])(
    'rejects a %s join key, naming the entity, the field and the allowed types',
    (type) => {
      expectRejected(
        () =>
          defineEntity({ name: 'card', joinKeys: [{ name: 'card_id', type: type as 'string' }] }),
        {
          definition: 'entity "card"',
          field: 'joinKeys[card_id].type',
          message: `join keys must be string, int32, int64, got "${type}"`,
          hint: 'use one of string, int32, int64',
        },
      );
    },
  );

  it('rejects an entity without join keys', () => {
    expectRejected(() => defineEntity({ name: 'card', joinKeys: [] }), {
      definition: 'entity "card"',
      field: 'joinKeys',
      message: 'needs at least one join key',
      hint: 'list at least 1',
    });
  });

  it('rejects a join key listed twice, pointing at the second one', () => {
    expectRejected(
      () =>
        defineEntity({
          name: 'card',
          joinKeys: [
            { name: 'card_id', type: 'string' },
            { name: 'card_id', type: 'int64' },
          ],
        }),
      {
        definition: 'entity "card"',
        field: 'joinKeys[card_id].name',
        message: 'join key "card_id" is listed twice',
        hint: 'list each join key once',
      },
    );
  });

  it('rejects a join key without a type', () => {
    expectRejected(() => defineEntity({ name: 'card', joinKeys: [{ name: 'card_id' }] } as never), {
      definition: 'entity "card"',
      field: 'joinKeys[card_id].type',
      message: 'got undefined',
      hint: 'use one of string, int32, int64',
    });
  });

  it('rejects a misspelt field such as joinKey, naming it', () => {
    expectRejected(
      () =>
        defineEntity({
          name: 'card',
          joinKeys: [{ name: 'card_id', type: 'string' }],
          ownr: 'me',
        } as never),
      {
        definition: 'entity "card"',
        field: '',
        message: 'Unrecognized key: "ownr"',
        hint: 'remove it or check its spelling',
      },
    );
  });

  it('rejects a missing name with a hint to add it', () => {
    expectRejected(() => defineEntity({ joinKeys: [{ name: 'id', type: 'string' }] } as never), {
      definition: 'entity (unnamed)',
      field: 'name',
      message: 'must be a string',
      hint: 'add this required field',
    });
  });

  it('rejects empty tags, empty owners and overlong descriptions', () => {
    expectRejected(
      () =>
        defineEntity({ name: 'card', joinKeys: [{ name: 'card_id', type: 'string' }], owner: '' }),
      {
        definition: 'entity "card"',
        field: 'owner',
        message: 'must not be empty',
        hint: 'write a non-empty text',
      },
    );
    expectRejected(
      () =>
        defineEntity({
          name: 'card',
          joinKeys: [{ name: 'card_id', type: 'string' }],
          description: 'x'.repeat(2001),
        }),
      {
        definition: 'entity "card"',
        field: 'description',
        message: '2000',
        hint: 'shorten it to at most 2000 characters',
      },
    );
    expectRejected(
      () =>
        defineEntity({
          name: 'card',
          joinKeys: [{ name: 'card_id', type: 'string' }],
          tags: { team: '' },
        }),
      {
        definition: 'entity "card"',
        field: 'tags.team',
        message: 'must not be empty',
        hint: 'write a non-empty text',
      },
    );
  });
});

const base: SourceInput = {
  name: 'events',
  schema: { user_id: 'string', value: 'float64', event_ts: 'timestamp', created_ts: 'timestamp' },
  timestampField: 'event_ts',
};

describe('defineSource', () => {
  it('accepts every value type, including lists such as a list<float32> embedding', () => {
    const schema = Object.fromEntries(valueTypes.map((type, i) => [`c${i}`, type]));
    const source = defineSource({
      name: 'all_types',
      schema: { ...schema, event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    expect(source.schema.map((c) => c.type)).toEqual([...valueTypes, 'timestamp']);
    expect(valueTypes).toEqual([
      'int32',
      'int64',
      'float32',
      'float64',
      'string',
      'bool',
      'timestamp',
      'list<int32>',
      'list<int64>',
      'list<float32>',
      'list<float64>',
      'list<string>',
      'list<bool>',
      'list<timestamp>',
    ]);
  });

  it('keeps columns in declaration order and fills defaults', () => {
    expect(defineSource(base)).toEqual({
      kind: 'source',
      name: 'events',
      schema: [
        { name: 'user_id', type: 'string' },
        { name: 'value', type: 'float64' },
        { name: 'event_ts', type: 'timestamp' },
        { name: 'created_ts', type: 'timestamp' },
      ],
      timestampField: 'event_ts',
      fieldMapping: {},
      tags: {},
    });
  });

  it.each(['double', 'list<float16>', 'list<list<int32>>', 'INT32', 'vector'])(
    'rejects the unknown type %s, listing the valid ones',
    (type) => {
      expectRejected(
        () => defineSource({ ...base, schema: { ...base.schema, value: type as 'float64' } }),
        {
          definition: 'source "events"',
          field: 'schema.value',
          message: `unknown type ${JSON.stringify(type)}`,
          hint: `use one of ${allTypes}`,
        },
      );
    },
  );

  it('rejects a schema without columns', () => {
    const issues = issuesOf(() => defineSource({ ...base, schema: {} }));
    expect(issues.find((i) => i.field === 'schema')).toMatchObject({
      definition: 'source "events"',
      message: 'has no columns',
      hint: 'declare at least the join keys, the timestamp and one value column',
    });
  });

  it('rejects a missing timestampField', () => {
    const { timestampField: _, ...withoutTimestamp } = base;
    expectRejected(() => defineSource(withoutTimestamp as SourceInput), {
      definition: 'source "events"',
      field: 'timestampField',
      message: 'must name the event-timestamp column',
      hint: 'add this required field',
    });
  });

  it('rejects a timestampField that is not a column of the schema', () => {
    expectRejected(() => defineSource({ ...base, timestampField: 'ts' }), {
      definition: 'source "events"',
      field: 'timestampField',
      message: '"ts" is not a column of the schema (user_id, value, event_ts, created_ts)',
      hint: `add "ts: 'timestamp'" to schema or name an existing column`,
    });
  });

  it('rejects a timestampField whose column is not a timestamp', () => {
    expectRejected(() => defineSource({ ...base, timestampField: 'value' }), {
      definition: 'source "events"',
      field: 'timestampField',
      message: '"value" has type float64, but must be timestamp',
      hint: `declare "value: 'timestamp'" in schema`,
    });
  });

  it('accepts a createdTimestampField naming another timestamp column', () => {
    expect(
      defineSource({ ...base, createdTimestampField: 'created_ts' }).createdTimestampField,
    ).toBe('created_ts');
  });

  it('rejects a createdTimestampField equal to timestampField', () => {
    expectRejected(() => defineSource({ ...base, createdTimestampField: 'event_ts' }), {
      definition: 'source "events"',
      field: 'createdTimestampField',
      message: 'is the same column as timestampField',
      hint: 'name the column holding when the row was written, or leave it out',
    });
  });

  it('rejects a createdTimestampField that is missing or not a timestamp', () => {
    expectRejected(() => defineSource({ ...base, createdTimestampField: 'written_at' }), {
      definition: 'source "events"',
      field: 'createdTimestampField',
      message: '"written_at" is not a column of the schema',
      hint: `add "written_at: 'timestamp'"`,
    });
    expectRejected(() => defineSource({ ...base, createdTimestampField: 'user_id' }), {
      definition: 'source "events"',
      field: 'createdTimestampField',
      message: '"user_id" has type string, but must be timestamp',
      hint: 'in schema',
    });
  });

  it('rejects a misspelt field such as timestampFeild, naming it', () => {
    const issues = issuesOf(() =>
      defineSource({
        name: 'events',
        schema: base.schema,
        timestampFeild: 'event_ts',
      } as never),
    );
    expect(issues).toContainEqual({
      definition: 'source "events"',
      field: '',
      message: 'Unrecognized key: "timestampFeild"',
      hint: 'remove it or check its spelling',
    });
    expect(issues).toContainEqual(
      expect.objectContaining({ field: 'timestampField', hint: 'add this required field' }),
    );
  });

  it('accepts a field mapping from raw names (any text) to schema columns', () => {
    expect(
      defineSource({ ...base, fieldMapping: { 'User ID': 'user_id', Value: 'value' } })
        .fieldMapping,
    ).toEqual({ 'User ID': 'user_id', Value: 'value' });
  });

  it('rejects a field mapping to a column the schema does not have', () => {
    expectRejected(() => defineSource({ ...base, fieldMapping: { raw: 'missing' } }), {
      definition: 'source "events"',
      field: 'fieldMapping.raw',
      message: 'maps to "missing", which is not a column of the schema (user_id, value,',
      hint: 'map raw names to columns declared in schema',
    });
  });

  it('rejects two raw columns mapped to the same column', () => {
    expectRejected(() => defineSource({ ...base, fieldMapping: { a: 'value', b: 'value' } }), {
      definition: 'source "events"',
      field: 'fieldMapping.b',
      message: 'maps to "value", which another raw column already maps to',
      hint: 'map each schema column from one raw column',
    });
  });

  it('rejects a raw column name with quotes', () => {
    const issues = issuesOf(() => defineSource({ ...base, fieldMapping: { 'a"b': 'value' } }));
    expect(issues).toEqual([
      expect.objectContaining({
        field: 'fieldMapping.a"b',
        message: 'must not contain quotes or control characters',
      }),
    ]);
  });

  it('reports every problem of a source at once', () => {
    const issues = issuesOf(() =>
      defineSource({
        ...base,
        timestampField: 'value',
        createdTimestampField: 'user_id',
        fieldMapping: { raw: 'missing' },
      }),
    );
    expect(issues.map((i) => i.field)).toEqual([
      'timestampField',
      'createdTimestampField',
      'fieldMapping.raw',
    ]);
  });

  it('does not freeze or keep the caller input', () => {
    const input: SourceInput = { ...base, schema: { ...base.schema } };
    const source = defineSource(input);
    input.schema.extra = 'string';
    expect(Object.isFrozen(input.schema)).toBe(false);
    expect(source.schema.map((c) => c.name)).not.toContain('extra');
  });
});
