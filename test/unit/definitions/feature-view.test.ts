import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureView,
  defineSource,
  type FeatureViewInput,
} from '../../../lib/definitions/index.ts';
import { issueAt, issuesOf } from '../../helpers/definition-issues.ts';
import { customer, profiles } from './fixtures.ts';

const input = (extra: Partial<FeatureViewInput> = {}): FeatureViewInput => ({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { age: 'int32', plan: { type: 'string', allowedValues: ['a', 'b'], nullable: false } },
  ...extra,
});

describe('defineFeatureView', () => {
  it('accepts a view and fills defaults: nullable true, offline, active', () => {
    const view = defineFeatureView(input());
    expect(view.features).toEqual([
      { name: 'age', type: 'int32', nullable: true },
      { name: 'plan', type: 'string', nullable: false, allowedValues: ['a', 'b'] },
    ]);
    expect(view.online).toBe(false);
    expect(view.status).toBe('active');
    expect(view.transform).toBe('passthrough');
    expect(Object.isFrozen(view.features[1]?.allowedValues)).toBe(true);
  });

  it('accepts embeddings, timestamps and bools as features', () => {
    const view = defineFeatureView(
      input({ features: { embedding: 'list<float32>', signup_ts: 'timestamp', active: 'bool' } }),
    );
    expect(view.features.map((f) => f.type)).toEqual(['list<float32>', 'timestamp', 'bool']);
  });

  it('accepts a lossless widening from the source type (int32 → int64, float32 → float64)', () => {
    const view = defineFeatureView(input({ features: { age: 'int64', score: 'float64' } }));
    expect(view.features.map((f) => f.type)).toEqual(['int64', 'float64']);
  });

  it('rejects a narrowing or different type, naming the source column type', () => {
    const issue = issueAt(
      () => defineFeatureView(input({ features: { score: 'int32' } })),
      'features.score.type',
    );
    expect(issue.message).toBe('is int32, but source column "score" is float32');
    expect(issue.hint).toBe('declare the feature as float32');
  });

  it('rejects a feature that is not a source column, listing the columns', () => {
    const issue = issueAt(
      () => defineFeatureView(input({ features: { tenure: 'int32' } })),
      'features.tenure',
    );
    expect(issue.message).toContain(
      '"tenure" is not a column of source "profiles" (customer_id, age,',
    );
  });

  it('rejects a feature named like a join key', () => {
    const issue = issueAt(
      () => defineFeatureView(input({ features: { customer_id: 'string' } })),
      'features.customer_id',
    );
    expect(issue.message).toBe(
      '"customer_id" is a join key of this view and cannot also be a feature',
    );
    expect(issue.hint).toContain('join keys are returned with every row');
  });

  it('rejects the source timestamp column as a feature', () => {
    const issue = issueAt(
      () =>
        defineFeatureView(input({ features: { signup_ts: 'timestamp', event_ts: 'timestamp' } })),
      'features.event_ts',
    );
    expect(issue.message).toContain('reserved by fstore');
  });

  it('rejects a join key the source does not have', () => {
    const account = defineEntity({
      name: 'account',
      joinKeys: [{ name: 'account_id', type: 'int64' }],
    });
    const issue = issueAt(() => defineFeatureView(input({ entities: [account] })), 'entities.0');
    expect(issue.message).toContain(
      'join key "account_id" of entity "account" is not a column of source "profiles"',
    );
  });

  it('rejects a join key whose type differs from the source column', () => {
    const numeric = defineEntity({
      name: 'customer',
      joinKeys: [{ name: 'customer_id', type: 'int64' }],
    });
    const issue = issueAt(() => defineFeatureView(input({ entities: [numeric] })), 'entities.0');
    expect(issue.message).toBe(
      'join key "customer_id" is int64 in entity "customer" but string in source "profiles"',
    );
  });

  it('accepts a view over two entities (a composite key) and rejects the same entity twice', () => {
    const plan = defineEntity({
      name: 'plan_entity',
      joinKeys: [{ name: 'plan', type: 'string' }],
    });
    expect(
      defineFeatureView(input({ entities: [customer, plan], features: { age: 'int32' } })).entities,
    ).toHaveLength(2);
    expect(
      issueAt(() => defineFeatureView(input({ entities: [customer, customer] })), 'entities.1')
        .message,
    ).toContain('listed twice');
  });

  it('rejects a view without entities or features', () => {
    expect(issueAt(() => defineFeatureView(input({ entities: [] })), 'entities').message).toBe(
      'needs at least one entity',
    );
    expect(issueAt(() => defineFeatureView(input({ features: {} })), 'features').message).toBe(
      'has no features',
    );
  });

  it('rejects a source that is not made with defineSource', () => {
    const issue = issueAt(
      () => defineFeatureView(input({ source: { name: 'fake' } as never })),
      'source',
    );
    expect(issue.message).toBe('must be a source made with defineSource()');
  });

  describe('constraints', () => {
    it('accepts min/max on numbers and allowedValues on strings, integers and bools', () => {
      const view = defineFeatureView(
        input({
          features: {
            age: { type: 'int32', min: 0, max: 120, allowedValues: [1, 2] },
            score: { type: 'float32', min: -1.5 },
            active: { type: 'bool', allowedValues: [true] },
          },
        }),
      );
      expect(view.features[0]).toMatchObject({ min: 0, max: 120, allowedValues: [1, 2] });
    });

    it('rejects min/max on a string feature', () => {
      const issue = issueAt(
        () => defineFeatureView(input({ features: { plan: { type: 'string', min: 1 } } })),
        'features.plan.min',
      );
      expect(issue.message).toBe('min/max apply to numeric features, but this feature is string');
    });

    it('rejects min greater than max', () => {
      const issue = issueAt(
        () => defineFeatureView(input({ features: { age: { type: 'int32', min: 10, max: 5 } } })),
        'features.age.min',
      );
      expect(issue.message).toBe('min 10 is greater than max 5');
    });

    it('rejects allowedValues of the wrong type, naming the position', () => {
      const issue = issueAt(
        () =>
          defineFeatureView(
            input({ features: { age: { type: 'int32', allowedValues: [1, 'two'] } } }),
          ),
        'features.age.allowedValues.1',
      );
      expect(issue.message).toBe('"two" is not a integer value for a int32 feature');
    });

    it('rejects allowedValues on a float feature and duplicates in allowedValues', () => {
      expect(
        issueAt(
          () =>
            defineFeatureView(
              input({ features: { score: { type: 'float32', allowedValues: [1] } } }),
            ),
          'features.score.allowedValues',
        ).message,
      ).toContain('apply to string, integer and bool');
      expect(
        issueAt(
          () =>
            defineFeatureView(
              input({ features: { plan: { type: 'string', allowedValues: ['a', 'a'] } } }),
            ),
          'features.plan.allowedValues',
        ).message,
      ).toBe('lists a value more than once');
    });

    it('rejects a non-finite bound', () => {
      expect(
        issuesOf(() =>
          defineFeatureView(
            input({ features: { age: { type: 'int32', max: Number.POSITIVE_INFINITY } } }),
          ),
        )[0]?.field,
      ).toBe('features.age.max');
    });
  });

  it('accepts lifecycle statuses and rejects others', () => {
    for (const status of ['draft', 'active', 'deprecated'] as const)
      expect(defineFeatureView(input({ status })).status).toBe(status);
    expect(
      issueAt(() => defineFeatureView(input({ status: 'retired' as 'draft' })), 'status').message,
    ).toBe('must be one of draft, active, deprecated');
  });

  it('keeps the leakage-risk note', () => {
    expect(defineFeatureView(input({ leakageRisk: 'computed after the label' })).leakageRisk).toBe(
      'computed after the label',
    );
  });

  it('reports every problem of a definition at once', () => {
    const issues = issuesOf(() =>
      defineFeatureView(input({ features: { tenure: 'int32', customer_id: 'string' }, ttl: '3x' })),
    );
    expect(issues.map((i) => i.field)).toEqual(['ttl']);
    const semantic = issuesOf(() =>
      defineFeatureView(input({ features: { tenure: 'int32', customer_id: 'string' } })),
    );
    expect(semantic.map((i) => i.field).sort()).toEqual([
      'features.customer_id',
      'features.tenure',
    ]);
  });

  describe('select', () => {
    const view = defineFeatureView(input());

    it('selects every feature with no argument', () => {
      expect(view.select().features).toEqual([{ feature: 'age' }, { feature: 'plan' }]);
    });

    it('selects named features with optional aliases', () => {
      const selection = view.select(['plan', { feature: 'age', alias: 'customer_age' }]);
      expect(selection.view).toBe(view);
      expect(selection.features).toEqual([
        { feature: 'plan' },
        { feature: 'age', alias: 'customer_age' },
      ]);
    });

    it('is not part of the serialized view', () => {
      expect(Object.keys(view)).not.toContain('select');
      expect(JSON.stringify(view)).not.toContain('select');
    });
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
});
