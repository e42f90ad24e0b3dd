import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineSource,
  type SourceInput,
  valueTypes,
} from '../../../lib/definitions/index.ts';
import { issueAt } from '../../helpers/definition-issues.ts';

describe('defineEntity', () => {
  it('accepts string, int32 and int64 join keys and returns frozen data', () => {
    const entity = defineEntity({
      name: 'card',
      joinKeys: [
        { name: 'bank_id', type: 'int32' },
        { name: 'card_number', type: 'string' },
        { name: 'seq', type: 'int64' },
      ],
      tags: { z: '1', a: '2' },
    });
    expect(entity.joinKeys.map((k) => k.type)).toEqual(['int32', 'string', 'int64']);
    expect(Object.keys(entity.tags)).toEqual(['a', 'z']);
    expect(Object.isFrozen(entity)).toBe(true);
    expect(Object.isFrozen(entity.joinKeys[0])).toBe(true);
    expect(() => {
      (entity as { name: string }).name = 'x';
    }).toThrow(TypeError);
  });

  it('rejects a float join key, naming the field and the allowed types', () => {
    const issue = issueAt(
      () => defineEntity({ name: 'c', joinKeys: [{ name: 'id', type: 'float64' as 'string' }] }),
      'joinKeys.0.type',
    );
    expect(issue.definition).toBe('entity "c"');
    expect(issue.message).toBe('join keys must be string, int32, int64, got "float64"');
  });

  it('rejects an entity without join keys', () => {
    expect(issueAt(() => defineEntity({ name: 'c', joinKeys: [] }), 'joinKeys').message).toBe(
      'needs at least one join key',
    );
  });

  it('rejects a join key listed twice', () => {
    const issue = issueAt(
      () =>
        defineEntity({
          name: 'c',
          joinKeys: [
            { name: 'id', type: 'string' },
            { name: 'id', type: 'string' },
          ],
        }),
      'joinKeys.1.name',
    );
    expect(issue.message).toContain('listed twice');
    expect(issue.hint).toBe('list each join key once');
  });

  it('rejects an unknown field such as a misspelt key, with a hint', () => {
    const issue = issueAt(
      () =>
        defineEntity({
          name: 'c',
          joinKeys: [{ name: 'id', type: 'string' }],
          ownr: 'me',
        } as never),
      '',
    );
    expect(issue.message).toContain('Unrecognized key: "ownr"');
    expect(issue.hint).toBe('remove it or check its spelling');
  });

  it('rejects a missing name with a hint to add it', () => {
    const issue = issueAt(
      () => defineEntity({ joinKeys: [{ name: 'id', type: 'string' }] } as never),
      'name',
    );
    expect(issue.definition).toBe('entity (unnamed)');
    expect(issue.hint).toBe('add this required field');
  });
});

const base: SourceInput = {
  name: 'events',
  schema: { user_id: 'string', value: 'float64', event_ts: 'timestamp', created_ts: 'timestamp' },
  timestampField: 'event_ts',
};

describe('defineSource', () => {
  it('accepts every value type including lists (embeddings)', () => {
    const schema = Object.fromEntries(valueTypes.map((type, i) => [`c${i}`, type]));
    const source = defineSource({
      name: 'all_types',
      schema: { ...schema, event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    expect(source.schema.map((c) => c.type)).toContain('list<float32>');
    expect(source.schema).toHaveLength(valueTypes.length + 1);
  });

  it('rejects an unknown type, listing the valid ones', () => {
    const issue = issueAt(
      () => defineSource({ ...base, schema: { ...base.schema, value: 'double' as 'float64' } }),
      'schema.value',
    );
    expect(issue.definition).toBe('source "events"');
    expect(issue.message).toContain('unknown type "double"; use one of int32, int64');
  });

  it('rejects a timestamp field that is not in the schema', () => {
    const issue = issueAt(() => defineSource({ ...base, timestampField: 'ts' }), 'timestampField');
    expect(issue.message).toBe(
      '"ts" is not a column of the schema (user_id, value, event_ts, created_ts)',
    );
    expect(issue.hint).toContain('add "ts: \'timestamp\'"');
  });

  it('rejects a timestamp field that is not of type timestamp', () => {
    const issue = issueAt(
      () => defineSource({ ...base, timestampField: 'value' }),
      'timestampField',
    );
    expect(issue.message).toBe('"value" has type float64, but must be timestamp');
  });

  it('accepts a created-timestamp column and rejects one equal to the event timestamp', () => {
    expect(
      defineSource({ ...base, createdTimestampField: 'created_ts' }).createdTimestampField,
    ).toBe('created_ts');
    expect(
      issueAt(
        () => defineSource({ ...base, createdTimestampField: 'event_ts' }),
        'createdTimestampField',
      ).message,
    ).toBe('is the same column as timestampField');
  });

  it('rejects a misspelt field name such as timestampFeild', () => {
    const issue = issueAt(() => defineSource({ ...base, timestampFeild: 'event_ts' } as never), '');
    expect(issue.message).toContain('"timestampFeild"');
  });

  it('accepts a field mapping from raw names and rejects one to an unknown column', () => {
    expect(defineSource({ ...base, fieldMapping: { 'User ID': 'user_id' } }).fieldMapping).toEqual({
      'User ID': 'user_id',
    });
    const issue = issueAt(
      () => defineSource({ ...base, fieldMapping: { raw: 'missing' } }),
      'fieldMapping.raw',
    );
    expect(issue.message).toContain('maps to "missing", which is not a column of the schema');
  });

  it('rejects two raw columns mapped to the same column', () => {
    const issue = issueAt(
      () => defineSource({ ...base, fieldMapping: { a: 'value', b: 'value' } }),
      'fieldMapping.b',
    );
    expect(issue.message).toContain('another raw column already maps to');
  });

  it('rejects a column named dt, which is the partition column', () => {
    const issue = issueAt(
      () => defineSource({ ...base, schema: { ...base.schema, dt: 'string' } }),
      'schema.dt',
    );
    expect(issue.hint).toContain('fieldMapping');
  });

  it('rejects a column named with a reserved word', () => {
    const issue = issueAt(
      () => defineSource({ ...base, schema: { ...base.schema, timestamp: 'timestamp' } }),
      'schema.timestamp',
    );
    expect(issue.message).toBe('"timestamp" is a reserved word in Athena DDL');
  });
});
