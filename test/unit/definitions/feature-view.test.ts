import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureView,
  defineSource,
  type FeatureViewInput,
  valueTypes,
} from '../../../lib/definitions/index.ts';
import { issuesOf } from '../../helpers/definition-issues.ts';
import { customer, expectRejected, profiles } from './fixtures.ts';

const input = (extra: Partial<FeatureViewInput> = {}): FeatureViewInput => ({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { age: 'int32', plan: { type: 'string', allowedValues: ['a', 'b'], nullable: false } },
  ...extra,
});
const build =
  (extra: Partial<FeatureViewInput> = {}) =>
  () =>
    defineFeatureView(input(extra));
const label = 'feature view "profile"';
const allTypes = valueTypes.join(', ');

describe('defineFeatureView', () => {
  it('accepts a view and fills defaults: nullable, offline, active, passthrough, no ttl', () => {
    const view = defineFeatureView(input());
    expect({ ...view }).toEqual({
      kind: 'featureView',
      transform: 'passthrough',
      name: 'profile',
      entities: [customer],
      source: profiles,
      features: [
        { name: 'age', type: 'int32', nullable: true },
        { name: 'plan', type: 'string', nullable: false, allowedValues: ['a', 'b'] },
      ],
      online: false,
      status: 'active',
      tags: {},
    });
    expect(view.entities[0]).toBe(customer);
    expect(view.source).toBe(profiles);
  });

  it('accepts every value type as a feature, including a list<float32> embedding', () => {
    const schema = Object.fromEntries(valueTypes.map((type, i) => [`c${i}`, type]));
    const wide = defineSource({
      name: 'wide',
      schema: { customer_id: 'string', ...schema, event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    const view = defineFeatureView({
      name: 'wide_view',
      entities: [customer],
      source: wide,
      features: schema as FeatureViewInput['features'],
    });
    expect(view.features.map((f) => f.type)).toEqual([...valueTypes]);
    expect(
      defineFeatureView(input({ features: { embedding: 'list<float32>' } })).features[0],
    ).toEqual({ name: 'embedding', type: 'list<float32>', nullable: true });
  });

  it('rejects an unknown type written as shorthand, listing the valid ones', () => {
    expectRejected(build({ features: { age: 'int' as 'int32' } }), {
      definition: label,
      field: 'features.age',
      message: 'unknown type "int"',
      hint: `use one of ${allTypes}`,
    });
  });

  it('rejects an unknown type in the object form, naming the type field', () => {
    expectRejected(build({ features: { embedding: { type: 'vector<float32>' as 'int32' } } }), {
      definition: label,
      field: 'features.embedding.type',
      message: 'unknown type "vector<float32>"',
      hint: `use one of ${allTypes}`,
    });
  });

  it('rejects a feature that is neither a type nor an object', () => {
    expectRejected(build({ features: { age: 5 as never } }), {
      definition: label,
      field: 'features.age',
      message: 'unknown type 5',
      hint: 'use one of int32',
    });
  });

  it('rejects a feature object without a type and with a misspelt field', () => {
    const issues = issuesOf(build({ features: { age: { tpye: 'int32' } as never } }));
    expect(issues).toEqual([
      {
        definition: label,
        field: 'features.age.type',
        message: 'is required',
        hint: `use one of ${allTypes}`,
      },
      {
        definition: label,
        field: 'features.age',
        message: 'Unrecognized key: "tpye"',
        hint: 'remove it or check its spelling',
      },
    ]);
  });

  it('rejects a feature that is not a column of the source, listing the columns', () => {
    expectRejected(build({ features: { tenure: 'int32' } }), {
      definition: label,
      field: 'features.tenure',
      message:
        '"tenure" is not a column of source "profiles" (customer_id, age, plan, score, active, signup_ts, embedding, event_ts, created_ts)',
      hint: 'add "tenure" to the source schema or fix the feature name',
    });
  });

  it.each([
    ['int32', 'int64', 'age'],
    ['int32', 'float64', 'age'],
    ['float32', 'float64', 'score'],
    ['list<float32>', 'list<float64>', 'embedding'],
  ] as const)('accepts the lossless widening %s source → %s feature', (_, to, name) => {
    expect(defineFeatureView(input({ features: { [name]: to } })).features[0]?.type).toBe(to);
  });

  it.each([
    ['score', 'int32', 'float32'],
    ['age', 'string', 'int32'],
    ['age', 'float32', 'int32'],
    ['plan', 'int32', 'string'],
    ['embedding', 'float32', 'list<float32>'],
    ['signup_ts', 'string', 'timestamp'],
  ] as const)(
    'rejects %s declared as %s when the source column is %s',
    (name, type, columnType) => {
      expectRejected(build({ features: { [name]: type } }), {
        definition: label,
        field: `features.${name}.type`,
        message: `is ${type}, but source column "${name}" is ${columnType}`,
        hint: `declare the feature as ${columnType}`,
      });
    },
  );

  it('rejects a narrowing from an int64 column to an int32 feature', () => {
    const wide = defineSource({
      name: 'counts',
      schema: { customer_id: 'string', clicks: 'int64', event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    expectRejected(
      () =>
        defineFeatureView({
          name: 'clicks',
          entities: [customer],
          source: wide,
          features: { clicks: 'int32' },
        }),
      {
        definition: 'feature view "clicks"',
        field: 'features.clicks.type',
        message: 'is int32, but source column "clicks" is int64',
        hint: 'declare the feature as int64',
      },
    );
  });

  it('rejects a feature named like a join key of the view', () => {
    expectRejected(build({ features: { customer_id: 'string', age: 'int32' } }), {
      definition: label,
      field: 'features.customer_id',
      message: '"customer_id" is a join key of this view and cannot also be a feature',
      hint: 'remove it from features; join keys are returned with every row',
    });
  });

  it('rejects the event-timestamp column of the source as a feature', () => {
    const events = defineSource({
      name: 'events',
      schema: { customer_id: 'string', clicks: 'int32', ts: 'timestamp' },
      timestampField: 'ts',
    });
    expectRejected(
      () =>
        defineFeatureView({
          name: 'clicks',
          entities: [customer],
          source: events,
          features: { clicks: 'int32', ts: 'timestamp' },
        }),
      {
        definition: 'feature view "clicks"',
        field: 'features.ts',
        message: '"ts" is a timestamp column of source "events"',
        hint: 'remove it from features',
      },
    );
  });

  it('accepts other timestamp columns as features', () => {
    expect(
      defineFeatureView(input({ features: { signup_ts: 'timestamp' } })).features[0]?.type,
    ).toBe('timestamp');
  });

  describe('entities', () => {
    const plan = defineEntity({
      name: 'plan_entity',
      joinKeys: [{ name: 'plan', type: 'string' }],
    });

    it('accepts two entities (a composite key)', () => {
      const view = defineFeatureView(
        input({ entities: [customer, plan], features: { age: 'int32' } }),
      );
      expect(view.entities.map((e) => e.name)).toEqual(['customer', 'plan_entity']);
    });

    it('rejects a join key the source does not have', () => {
      const account = defineEntity({
        name: 'account',
        joinKeys: [{ name: 'account_id', type: 'int64' }],
      });
      expectRejected(build({ entities: [account] }), {
        definition: label,
        field: 'entities[account]',
        message:
          'join key "account_id" of entity "account" is not a column of source "profiles" (customer_id,',
        hint: `add "account_id: 'int64'" to the source schema or map a raw column to it with fieldMapping`,
      });
    });

    it('rejects a join key whose type differs from the source column', () => {
      const numeric = defineEntity({
        name: 'customer',
        joinKeys: [{ name: 'customer_id', type: 'int64' }],
      });
      expectRejected(build({ entities: [numeric] }), {
        definition: label,
        field: 'entities[customer]',
        message:
          'join key "customer_id" is int64 in entity "customer" but string in source "profiles"',
        hint: 'make the types agree',
      });
    });

    it('rejects the same entity listed twice', () => {
      expectRejected(build({ entities: [customer, customer] }), {
        definition: label,
        field: 'entities[customer]',
        message: 'entity "customer" is listed twice',
        hint: 'list each entity once',
      });
    });

    it('rejects two entities sharing a join-key name', () => {
      const buyer = defineEntity({
        name: 'buyer',
        joinKeys: [{ name: 'customer_id', type: 'string' }],
      });
      expectRejected(build({ entities: [customer, buyer] }), {
        definition: label,
        field: 'entities[buyer]',
        message: 'join key "customer_id" of entity "buyer" is also a join key of another entity',
        hint: 'give the entities distinct join-key names',
      });
    });

    it('rejects a view without entities, and things not made with defineEntity', () => {
      expectRejected(build({ entities: [] }), {
        definition: label,
        field: 'entities',
        message: 'needs at least one entity',
        hint: 'list at least 1',
      });
      const issues = issuesOf(build({ entities: [{ name: 'customer' } as never] }));
      expect(issues).toEqual([
        expect.objectContaining({
          field: 'entities[customer]',
          message: 'must be an entity made with defineEntity()',
        }),
      ]);
    });
  });

  it('rejects a source that is not made with defineSource', () => {
    expect(issuesOf(build({ source: { name: 'fake' } as never }))).toEqual([
      { definition: label, field: 'source', message: 'must be a source made with defineSource()' },
    ]);
  });

  it('rejects a view without features', () => {
    expectRejected(build({ features: {} }), {
      definition: label,
      field: 'features',
      message: 'has no features',
      hint: 'declare at least one feature',
    });
  });

  describe('constraints', () => {
    it('accepts min/max on numbers and allowedValues on strings, integers and bools', () => {
      const view = defineFeatureView(
        input({
          features: {
            age: { type: 'int32', min: 0, max: 120, allowedValues: [1, 2], description: 'Age' },
            score: { type: 'float32', min: -1.5, max: -1.5 },
            active: { type: 'bool', allowedValues: [true], nullable: false },
            plan: { type: 'string', allowedValues: ['basic', 'premium'] },
          },
        }),
      );
      expect(view.features).toEqual([
        {
          name: 'age',
          type: 'int32',
          description: 'Age',
          nullable: true,
          min: 0,
          max: 120,
          allowedValues: [1, 2],
        },
        { name: 'score', type: 'float32', nullable: true, min: -1.5, max: -1.5 },
        { name: 'active', type: 'bool', nullable: false, allowedValues: [true] },
        { name: 'plan', type: 'string', nullable: true, allowedValues: ['basic', 'premium'] },
      ]);
    });

    it('rejects min on a string feature', () => {
      expectRejected(build({ features: { plan: { type: 'string', min: 1 } } }), {
        definition: label,
        field: 'features.plan.min',
        message: 'min/max apply to numeric features, but this feature is string',
        hint: 'remove min/max or use allowedValues',
      });
    });

    it('rejects max on a list feature', () => {
      expectRejected(build({ features: { embedding: { type: 'list<float32>', max: 1 } } }), {
        definition: label,
        field: 'features.embedding.max',
        message: 'min/max apply to numeric features, but this feature is list<float32>',
        hint: 'remove min/max',
      });
    });

    it('rejects min greater than max', () => {
      expectRejected(build({ features: { age: { type: 'int32', min: 10, max: 5 } } }), {
        definition: label,
        field: 'features.age.min',
        message: 'min 10 is greater than max 5',
        hint: 'swap them or fix one',
      });
    });

    it('rejects a non-finite bound', () => {
      const issues = issuesOf(
        build({ features: { age: { type: 'int32', max: Number.POSITIVE_INFINITY } } }),
      );
      expect(issues).toEqual([
        expect.objectContaining({ definition: label, field: 'features.age.max' }),
      ]);
    });

    it.each([
      [
        'age',
        'int32',
        [1, 'two'],
        1,
        '"two" is not an integer value for an int32 feature',
        'integer',
      ],
      ['age', 'int32', [1.5], 0, '1.5 is not an integer value for an int32 feature', 'integer'],
      ['plan', 'string', ['a', 3], 1, '3 is not a string value for a string feature', 'string'],
      ['active', 'bool', ['yes'], 0, '"yes" is not a boolean value for a bool feature', 'boolean'],
    ] as const)(
      'rejects allowedValues of the wrong type for %s (%s)',
      (name, type, values, index, message, expected) => {
        expectRejected(build({ features: { [name]: { type, allowedValues: [...values] } } }), {
          definition: label,
          field: `features.${name}.allowedValues.${index}`,
          message,
          hint: `list ${expected} values only`,
        });
      },
    );

    it('rejects allowedValues on a float feature', () => {
      expectRejected(build({ features: { score: { type: 'float32', allowedValues: [1] } } }), {
        definition: label,
        field: 'features.score.allowedValues',
        message:
          'allowedValues apply to string, integer and bool features, but this feature is float32',
        hint: 'use min/max for floats, or remove allowedValues',
      });
    });

    it('rejects a value listed twice and an empty list in allowedValues', () => {
      expectRejected(build({ features: { plan: { type: 'string', allowedValues: ['a', 'a'] } } }), {
        definition: label,
        field: 'features.plan.allowedValues',
        message: 'lists a value more than once',
        hint: 'list each value once',
      });
      expectRejected(build({ features: { plan: { type: 'string', allowedValues: [] } } }), {
        definition: label,
        field: 'features.plan.allowedValues',
        message: 'must list at least one value',
        hint: 'list at least 1',
      });
    });
  });

  it.each(['draft', 'active', 'deprecated'] as const)(
    'accepts the lifecycle status %s',
    (status) => {
      expect(defineFeatureView(input({ status })).status).toBe(status);
    },
  );

  it('rejects an unknown lifecycle status, listing the valid ones', () => {
    expectRejected(build({ status: 'retired' as 'draft' }), {
      definition: label,
      field: 'status',
      message: '"retired" is not a lifecycle status',
      hint: 'use one of draft, active, deprecated',
    });
  });

  it('rejects online given as text', () => {
    expectRejected(build({ online: 'yes' as never }), {
      definition: label,
      field: 'online',
      message: 'expected boolean, received string',
      hint: 'give a boolean',
    });
  });

  it('keeps the leakage-risk note, description, owner and tags', () => {
    const view = defineFeatureView(
      input({
        leakageRisk: 'computed after the label',
        description: 'Profile',
        owner: 'ml@example.com',
        tags: { tier: 'gold', domain: 'churn' },
      }),
    );
    expect(view).toMatchObject({
      leakageRisk: 'computed after the label',
      description: 'Profile',
      owner: 'ml@example.com',
      tags: { domain: 'churn', tier: 'gold' },
    });
    expect(Object.keys(view.tags)).toEqual(['domain', 'tier']);
  });

  it('reports every semantic problem of a view at once', () => {
    const issues = issuesOf(
      build({
        features: {
          tenure: 'int32',
          customer_id: 'string',
          score: 'int32',
          age: { type: 'int32', min: 3, max: 1 },
        },
        online: true,
      }),
    );
    expect(issues.map((i) => i.field)).toEqual([
      'features.tenure',
      'features.customer_id',
      'features.score.type',
      'features.age.min',
      'schedule',
    ]);
    expect(issues.every((i) => i.definition === label && i.hint)).toBe(true);
  });

  it('reports shape problems before semantic ones', () => {
    const issues = issuesOf(build({ features: { tenure: 'int32' }, ttl: '3x' }));
    expect(issues.map((i) => i.field)).toEqual(['ttl']);
  });

  it('accepts a source with a field mapping feeding a feature', () => {
    const mapped = defineSource({
      name: 'raw_profiles',
      schema: { customer_id: 'string', age: 'int32', ts: 'timestamp' },
      timestampField: 'ts',
      fieldMapping: { CustomerAge: 'age' },
    });
    expect(
      defineFeatureView({
        name: 'mapped',
        entities: [customer],
        source: mapped,
        features: { age: 'int32' },
      }).source.fieldMapping,
    ).toEqual({ CustomerAge: 'age' });
  });

  describe('select', () => {
    const view = defineFeatureView(input());

    it('selects every feature, in declaration order, with no argument', () => {
      const selection = view.select();
      expect(selection.kind).toBe('featureSelection');
      expect(selection.view).toBe(view);
      expect(selection.features).toEqual([{ feature: 'age' }, { feature: 'plan' }]);
    });

    it('selects named features, in the given order, with optional aliases', () => {
      expect(view.select(['plan', { feature: 'age', alias: 'customer_age' }]).features).toEqual([
        { feature: 'plan' },
        { feature: 'age', alias: 'customer_age' },
      ]);
    });

    it('selects nothing from an empty list (the service then rejects it)', () => {
      expect(view.select([]).features).toEqual([]);
    });

    it('returns frozen selections', () => {
      const selection = view.select(['age']);
      expect(Object.isFrozen(selection)).toBe(true);
      expect(Object.isFrozen(selection.features)).toBe(true);
      expect(Object.isFrozen(selection.features[0])).toBe(true);
    });

    it('is not part of the serialized view', () => {
      expect(Object.keys(view)).not.toContain('select');
      expect(JSON.stringify(view)).not.toContain('select');
    });
  });
});
