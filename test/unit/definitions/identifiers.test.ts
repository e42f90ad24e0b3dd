import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
  identifierProblem,
} from '../../../lib/definitions/index.ts';
import { openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import { customer, expectRejected, profiles } from './fixtures.ts';

const notValid = 'is not a valid identifier: use lower-case letters, digits and "_"';

describe('identifierProblem', () => {
  it.each([
    'customer',
    'c',
    'customer_id',
    'v2',
    'a_b_c1',
    'x'.repeat(64),
    'selected',
    'date_of_birth',
  ])('accepts %s', (name) => {
    expect(identifierProblem(name)).toBeUndefined();
  });

  it.each([
    ['Customer', notValid, 'rename it, for example "customer"'],
    ['customerId', notValid, 'for example "customer_id"'],
    ['1st', notValid, 'rename it'],
    ['has-dash', notValid, 'for example "has_dash"'],
    ['has space', notValid, 'for example "has_space"'],
    ['_private', notValid, 'for example "private"'],
    ['', notValid, 'for example "my_name"'],
    ['view__feature', 'contains "__", which fstore reserves', 'for example "view_feature"'],
    ['trailing_', 'ends with "_"', 'drop the trailing "_"'],
    ['x'.repeat(65), 'is 65 characters long; the limit is 64', 'choose a shorter name'],
  ])('rejects %j', (name, message, hint) => {
    const problem = identifierProblem(name);
    expect(problem?.message).toContain(message);
    expect(problem?.hint).toContain(hint);
  });

  it.each([
    ['select', 'Athena/Trino'],
    ['table', 'Athena/Trino'],
    ['order', 'Athena/Trino'],
    ['values', 'Athena/Trino'],
    ['date', 'Athena DDL'],
    ['timestamp', 'Athena DDL'],
    ['partition', 'Athena DDL'],
    ['user', 'Athena DDL'],
    ['qualify', 'DuckDB'],
    ['limit', 'DuckDB'],
    ['show', 'DuckDB'],
    ['summarize', 'DuckDB'],
    ['constructor', 'the lookup API (refused as a JSON key)'],
    ['prototype', 'the lookup API (refused as a JSON key)'],
  ])('rejects the reserved word %s, naming the engine (%s)', (name, engine) => {
    const problem = identifierProblem(name);
    expect(problem?.message).toBe(`"${name}" is a reserved word in ${engine}`);
    expect(problem?.hint).toBe(
      `choose another name, for example "${name}_value" or a more specific one`,
    );
  });

  it('refuses every keyword DuckDB cannot take as an unquoted column name', async () => {
    const session = await openDuckdb();
    try {
      const reader = await session.connection.runAndReadAll(
        "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category IN ('reserved', 'type_function')",
      );
      const keywords = reader.getRows().map(([name]) => String(name));
      expect(keywords.length).toBeGreaterThan(50);
      const unsafe: string[] = [];
      for (const keyword of keywords) {
        if (identifierPattern(keyword) === false) continue;
        try {
          await session.connection.run(`CREATE TEMP TABLE kw_probe (${keyword} INTEGER)`);
          await session.connection.run(`SELECT ${keyword} FROM kw_probe`);
          await session.connection.run('DROP TABLE kw_probe');
        } catch {
          await session.connection.run('DROP TABLE IF EXISTS kw_probe');
          unsafe.push(keyword);
        }
      }
      expect(unsafe).toContain('select');
      expect(unsafe.filter((keyword) => identifierProblem(keyword) === undefined)).toEqual([]);
    } finally {
      session.close();
    }
  });
});

function identifierPattern(name: string): boolean {
  return /^[a-z][a-z0-9_]*$/.test(name);
}

const entityWith =
  (name: string, keyName = 'customer_id') =>
  () =>
    defineEntity({ name, joinKeys: [{ name: keyName, type: 'string' }] });

const viewWith =
  (name: string, features: Record<string, 'int32' | 'timestamp'> = { age: 'int32' }) =>
  () =>
    defineFeatureView({ name, entities: [customer], source: profiles, features });

describe('identifiers in definitions', () => {
  it('accepts valid names for every kind of definition', () => {
    expect(entityWith('customer_v2')().name).toBe('customer_v2');
    expect(viewWith('profile_v2')().name).toBe('profile_v2');
    expect(
      defineSource({
        name: 'events_v2',
        schema: { id_2: 'string', event_ts: 'timestamp' },
        timestampField: 'event_ts',
      }).name,
    ).toBe('events_v2');
    expect(defineFeatureService({ name: 'model_v2', features: [viewWith('p')()] }).name).toBe(
      'model_v2',
    );
  });

  it('rejects an upper-case entity name, naming the entity, the field and the fix', () => {
    expectRejected(entityWith('Customer'), {
      definition: 'entity "Customer"',
      field: 'name',
      message: `"Customer" ${notValid}`,
      hint: 'rename it, for example "customer"',
    });
  });

  it('rejects a join-key name with a leading digit', () => {
    expectRejected(entityWith('customer', '1st_id'), {
      definition: 'entity "customer"',
      field: 'joinKeys[1st_id].name',
      message: `"1st_id" ${notValid}`,
      hint: 'rename it, for example "st_id"',
    });
  });

  it('rejects a source named with "__"', () => {
    expectRejected(
      () =>
        defineSource({
          name: 'raw__events',
          schema: { event_ts: 'timestamp' },
          timestampField: 'event_ts',
        }),
      {
        definition: 'source "raw__events"',
        field: 'name',
        message: 'contains "__", which fstore reserves for full feature names (view__feature)',
        hint: 'use a single "_", for example "raw_events"',
      },
    );
  });

  it('rejects a source column ending with "_"', () => {
    expectRejected(
      () =>
        defineSource({
          name: 'events',
          schema: { amount_: 'float64', event_ts: 'timestamp' },
          timestampField: 'event_ts',
        }),
      {
        definition: 'source "events"',
        field: 'schema.amount_',
        message: '"amount_" ends with "_"',
        hint: 'drop the trailing "_"',
      },
    );
  });

  it('rejects a view name longer than 64 characters', () => {
    const name = `v${'x'.repeat(64)}`;
    expectRejected(viewWith(name), {
      definition: `feature view "${name}"`,
      field: 'name',
      message: 'is 65 characters long; the limit is 64',
      hint: 'choose a shorter name',
    });
  });

  it('rejects a service named with a Trino reserved word (select)', () => {
    expectRejected(() => defineFeatureService({ name: 'select', features: [viewWith('p')()] }), {
      definition: 'feature service "select"',
      field: 'name',
      message: '"select" is a reserved word in Athena/Trino',
      hint: 'choose another name, for example "select_value"',
    });
  });

  it('rejects a view named with a Trino reserved word (table)', () => {
    expectRejected(viewWith('table'), {
      definition: 'feature view "table"',
      field: 'name',
      message: '"table" is a reserved word in Athena/Trino',
      hint: 'choose another name',
    });
  });

  it('rejects a source column named with an Athena DDL reserved word (date)', () => {
    expectRejected(
      () =>
        defineSource({
          name: 'events',
          schema: { date: 'string', event_ts: 'timestamp' },
          timestampField: 'event_ts',
        }),
      {
        definition: 'source "events"',
        field: 'schema.date',
        message: '"date" is a reserved word in Athena DDL',
        hint: 'for example "date_value"',
      },
    );
  });

  it('rejects a join key named with an Athena DDL reserved word (timestamp)', () => {
    expectRejected(entityWith('customer', 'timestamp'), {
      definition: 'entity "customer"',
      field: 'joinKeys[timestamp].name',
      message: '"timestamp" is a reserved word in Athena DDL',
      hint: 'choose another name',
    });
  });

  it('rejects an entity named with a DuckDB reserved word (qualify)', () => {
    expectRejected(entityWith('qualify'), {
      definition: 'entity "qualify"',
      field: 'name',
      message: '"qualify" is a reserved word in DuckDB',
      hint: 'choose another name',
    });
  });

  it('rejects a feature named like an fstore column (event_ts), though a source may use it', () => {
    expectRejected(viewWith('profile', { event_ts: 'timestamp' }), {
      definition: 'feature view "profile"',
      field: 'features.event_ts',
      message: '"event_ts" is reserved by fstore for its own columns (dt, pk, sk, event_ts,',
      hint: 'choose another name, for example "event_ts_value"',
    });
    expect(profiles.schema.map((c) => c.name)).toContain('event_ts');
  });

  it('rejects a join key named like an fstore item attribute (pk)', () => {
    expectRejected(entityWith('customer', 'pk'), {
      definition: 'entity "customer"',
      field: 'joinKeys[pk].name',
      message: '"pk" is reserved by fstore for its own columns',
      hint: 'for example "pk_value"',
    });
  });

  it('rejects a source column named dt, the partition column fstore adds', () => {
    expectRejected(
      () =>
        defineSource({
          name: 'events',
          schema: { dt: 'string', event_ts: 'timestamp' },
          timestampField: 'event_ts',
        }),
      {
        definition: 'source "events"',
        field: 'schema.dt',
        message: '"dt" is the partition column fstore adds to every source',
        hint: 'rename the column, e.g. with fieldMapping: { dt: "event_date" }',
      },
    );
  });

  it('rejects a name that is not a string, naming the field', () => {
    expectRejected(() => defineEntity({ name: 42, joinKeys: [] } as never), {
      definition: 'entity (unnamed)',
      field: 'name',
      message: 'must be a string',
      hint: 'give a string',
    });
  });
});

describe('names starting with fstore_ (the prefix of every column fstore SQL adds)', () => {
  const reserved = 'starts with "fstore_", which fstore reserves';

  it('rejects a join key named like an internal column, with the fix', () => {
    expectRejected(entityWith('customer', 'fstore_row_id'), {
      definition: 'entity "customer"',
      field: 'joinKeys[fstore_row_id].name',
      message: `"fstore_row_id" ${reserved}`,
      hint: 'drop the prefix, for example "row_id"',
    });
  });

  it.each(['fstore_seq', 'fstore_row_id'])('rejects a source column named %s', (column) => {
    expectRejected(
      () =>
        defineSource({
          name: 'events',
          schema: { id: 'string', [column]: 'int64', event_ts: 'timestamp' },
          timestampField: 'event_ts',
        }),
      {
        definition: 'source "events"',
        field: `schema.${column}`,
        message: `"${column}" ${reserved}`,
        hint: 'rename the column, e.g. with fieldMapping',
      },
    );
  });

  it('rejects a feature-service alias named like an internal column', () => {
    expectRejected(
      () =>
        defineFeatureService({
          name: 'model',
          features: [viewWith('profile')().select([{ feature: 'age', alias: 'fstore_match_0' }])],
        }),
      {
        definition: 'feature service "model"',
        field: 'features[profile].age.alias',
        message: `"fstore_match_0" ${reserved}`,
        hint: 'drop the prefix, for example "match_0"',
      },
    );
  });
});
