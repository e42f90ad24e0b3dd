import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
  type EntityInput,
  type FeatureViewInput,
  type SourceInput,
} from '../../../lib/definitions/index.ts';
import {
  type AnyDefinition,
  compileRegistry,
  type LocatedDefinition,
  registrySchema,
  serializeRegistry,
  viewSchemaVersion,
} from '../../../lib/registry/index.ts';
import { issuesOf } from '../../helpers/definition-issues.ts';

const entityInput: EntityInput = {
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
  owner: 'a@example.com',
};
const sourceInput: SourceInput = {
  name: 'profiles',
  schema: {
    customer_id: 'string',
    age: 'int32',
    plan: 'string',
    score: 'float64',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
};
const customer = defineEntity(entityInput);
const source = defineSource(sourceInput);
const viewInput = (extra: Partial<FeatureViewInput> = {}): FeatureViewInput => ({
  name: 'profile',
  entities: [customer],
  source,
  features: { age: 'int32', plan: 'string' },
  ttl: '30d',
  online: true,
  schedule: 'rate(1 hour)',
  ...extra,
});
const view = defineFeatureView(viewInput());
const service = defineFeatureService({ name: 'model', features: [view.select(['age'])] });

const at = (definition: AnyDefinition, file = 'defs.ts'): LocatedDefinition => ({
  definition,
  file,
});
const bytes = (located: LocatedDefinition[]) => serializeRegistry(compileRegistry(located));
const versionOf = (input: Partial<FeatureViewInput>) =>
  compileRegistry([at(defineFeatureView(viewInput(input)))]).featureViews[0]?.version;

describe('compileRegistry', () => {
  describe('determinism', () => {
    const everything = () => [
      at(customer, 'entities.ts'),
      at(source, 'sources.ts'),
      at(view, 'views.ts'),
      at(service, 'services.ts'),
    ];

    it('gives byte-identical output when compiled twice', () => {
      const first = bytes(everything());
      expect(bytes(everything())).toBe(first);
      expect(first.endsWith('}\n')).toBe(true);
    });

    it('gives byte-identical output for definitions rebuilt from the same input', () => {
      const rebuilt = () => {
        const e = defineEntity(entityInput);
        const s = defineSource(sourceInput);
        const v = defineFeatureView(viewInput({ entities: [e], source: s }));
        return [
          at(e, 'entities.ts'),
          at(s, 'sources.ts'),
          at(v, 'views.ts'),
          at(defineFeatureService({ name: 'model', features: [v.select(['age'])] }), 'services.ts'),
        ];
      };
      expect(bytes(rebuilt())).toBe(bytes(everything()));
    });

    it('gives byte-identical output for definitions passed in any order', () => {
      const expected = bytes(everything());
      expect(bytes([...everything()].reverse())).toBe(expected);
      const [a, b, c, d] = everything() as [
        LocatedDefinition,
        LocatedDefinition,
        LocatedDefinition,
        LocatedDefinition,
      ];
      expect(bytes([c, a, d, b])).toBe(expected);
    });

    it('attributes shared, non-exported definitions the same whatever the order', () => {
      const other = defineFeatureView(viewInput({ name: 'other', features: { score: 'float64' } }));
      const forward = bytes([at(view, 'b_views.ts'), at(other, 'a_views.ts')]);
      expect(bytes([at(other, 'a_views.ts'), at(view, 'b_views.ts')])).toBe(forward);
      const registry = compileRegistry([at(view, 'b_views.ts'), at(other, 'a_views.ts')]);
      expect(registry.entities[0]?.definedIn).toBe('a_views.ts');
      expect(registry.sources[0]?.definedIn).toBe('a_views.ts');
    });

    it('attributes a definition exported from two files to the first by name, whatever the order', () => {
      const forward = compileRegistry([at(customer, 'index.ts'), at(customer, 'entities.ts')]);
      const backward = compileRegistry([at(customer, 'entities.ts'), at(customer, 'index.ts')]);
      expect(forward.entities.map((e) => e.definedIn)).toEqual(['entities.ts']);
      expect(serializeRegistry(forward)).toBe(serializeRegistry(backward));
    });

    it('writes keys sorted at every depth and leaves absent fields out', () => {
      const text = bytes([at(view)]);
      const registry = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(registry)).toEqual([
        'entities',
        'featureServices',
        'featureViews',
        'formatVersion',
        'sources',
        'version',
      ]);
      const compiledView = (registry.featureViews as Record<string, unknown>[])[0] ?? {};
      expect(Object.keys(compiledView)).toEqual([...Object.keys(compiledView)].sort());
      expect(compiledView).not.toHaveProperty('description');
      expect(compiledView).not.toHaveProperty('leakageRisk');
      expect(text).not.toMatch(/: null\b/);
    });
  });

  it('produces JSON that validates against the registry schema and equals what a reader parses', () => {
    const registry = compileRegistry([at(service)]);
    expect(registry.formatVersion).toBe(1);
    expect(registrySchema.parse(JSON.parse(serializeRegistry(registry)))).toEqual(registry);
  });

  describe('registry version', () => {
    const base = compileRegistry([at(service, 'services.ts')]).version;

    it('is a 16-character content hash that stays the same for the same input', () => {
      expect(base).toMatch(/^[0-9a-f]{16}$/);
      expect(compileRegistry([at(service, 'services.ts')]).version).toBe(base);
    });

    it.each([
      ['a view description', () => [at(defineFeatureView(viewInput({ description: 'x' })))]],
      ['a view ttl', () => [at(defineFeatureView(viewInput({ ttl: '7d' })))]],
      [
        'an entity owner',
        () => {
          const e = defineEntity({ ...entityInput, owner: 'b@example.com' });
          return [at(defineFeatureView(viewInput({ entities: [e] })))];
        },
      ],
      [
        'a source tag',
        () => {
          const s = defineSource({ ...sourceInput, tags: { pii: 'none' } });
          return [at(defineFeatureView(viewInput({ source: s })))];
        },
      ],
      [
        'a service alias',
        () => [
          at(
            defineFeatureService({
              name: 'model',
              features: [view.select([{ feature: 'age', alias: 'customer_age' }])],
            }),
          ),
        ],
      ],
      ['the file a definition lives in', () => [at(service, 'models.ts')]],
    ])('changes when %s changes', (_, located) => {
      const changed = compileRegistry(located()).version;
      const same = compileRegistry([at(service, 'services.ts')]).version;
      expect(same).toBe(base);
      expect(changed).not.toBe(base);
    });
  });

  describe('view schema version', () => {
    const base = versionOf({});

    it('is a 12-character content hash, equal to viewSchemaVersion', () => {
      expect(base).toMatch(/^[0-9a-f]{12}$/);
      expect(viewSchemaVersion(view)).toBe(base);
    });

    it.each([
      ['description', { description: 'new' }],
      ['owner', { owner: 'b@example.com' }],
      ['tags', { tags: { team: 'x' } }],
      ['ttl', { ttl: '7d' }],
      ['ttl (removed)', { ttl: undefined }],
      ['schedule', { schedule: 'rate(2 hours)' }],
      ['status', { status: 'deprecated' as const }],
      ['online', { online: false, schedule: undefined }],
      ['leakage risk', { leakageRisk: 'label leaks after cancellation' }],
      ['min/max', { features: { age: { type: 'int32', min: 0, max: 130 }, plan: 'string' } }],
      [
        'allowed values',
        { features: { age: 'int32', plan: { type: 'string', allowedValues: ['a'] } } },
      ],
      ['nullable', { features: { age: { type: 'int32', nullable: false }, plan: 'string' } }],
      [
        'a feature description',
        { features: { age: { type: 'int32', description: 'years' }, plan: 'string' } },
      ],
      ['feature order', { features: { plan: 'string', age: 'int32' } }],
    ] as [string, Partial<FeatureViewInput>][])(
      'stays the same when only %s changes',
      (_, input) => {
        expect(versionOf(input)).toBe(base);
      },
    );

    it('stays the same when only entity or source metadata changes', () => {
      const described = defineEntity({ ...entityInput, description: 'x', tags: { a: 'b' } });
      const owned = defineSource({ ...sourceInput, owner: 'data@example.com', description: 'y' });
      expect(versionOf({ entities: [described], source: owned })).toBe(base);
    });

    it.each([
      ['a feature type changes', { features: { age: 'int64', plan: 'string' } }],
      ['a feature is added', { features: { age: 'int32', plan: 'string', score: 'float64' } }],
      ['a feature is removed', { features: { age: 'int32' } }],
      ['a feature is renamed', { features: { age: 'int32', score: 'float64' } }],
    ] as [string, Partial<FeatureViewInput>][])('changes when %s', (_, input) => {
      expect(versionOf(input)).not.toBe(base);
    });

    it.each([
      [
        'the join-key type changes',
        { customer_id: 'int64' },
        [{ name: 'customer_id', type: 'int64' }],
      ],
      [
        'a join key is added',
        {},
        [
          { name: 'customer_id', type: 'string' },
          { name: 'plan', type: 'string' },
        ],
      ],
      [
        'the join key is renamed',
        { account_id: 'string' },
        [{ name: 'account_id', type: 'string' }],
      ],
    ] as const)('changes when %s', (_, columns, joinKeys) => {
      const s = defineSource({ ...sourceInput, schema: { ...sourceInput.schema, ...columns } });
      const e = defineEntity({ name: 'customer', joinKeys: joinKeys.map((k) => ({ ...k })) });
      const features: FeatureViewInput['features'] = joinKeys.some((k) => k.name === 'plan')
        ? { age: 'int32', score: 'float64' }
        : { age: 'int32', plan: 'string' };
      const other = versionOf({ entities: [e], source: s, features });
      const sameKeysOtherFeatures = versionOf({ features });
      expect(other).not.toBe(sameKeysOtherFeatures);
    });

    it('changes when the event-timestamp or created-timestamp column changes', () => {
      const moved = defineSource({
        ...sourceInput,
        schema: { ...sourceInput.schema, updated_ts: 'timestamp' },
        timestampField: 'updated_ts',
      });
      expect(versionOf({ source: moved })).not.toBe(base);
      const { createdTimestampField: _, ...withoutCreated } = sourceInput;
      expect(versionOf({ source: defineSource(withoutCreated) })).not.toBe(base);
    });

    it('changes when the view reads another source', () => {
      const copy = defineSource({ ...sourceInput, name: 'profiles_v2' });
      expect(versionOf({ source: copy })).not.toBe(base);
    });
  });

  describe('derived names', () => {
    const registry = compileRegistry([at(service, 'services.ts')]);
    const compiled = registry.featureViews[0];

    it('gives each view the Glue table and S3 prefix of its source', () => {
      expect(compiled?.offline).toEqual({ glueTable: 'profiles', s3Prefix: 'offline/profiles/' });
      expect(registry.sources[0]?.offline).toEqual({
        glueTable: 'profiles',
        s3Prefix: 'offline/profiles/',
      });
    });

    it('gives each view a DynamoDB key prefix made of its name and schema version', () => {
      expect(compiled?.onlineStore).toEqual({ keyPrefix: `profile#${viewSchemaVersion(view)}` });
    });

    it('changes the key prefix on a schema change only', () => {
      const prefix = (input: Partial<FeatureViewInput>) =>
        compileRegistry([at(defineFeatureView(viewInput(input)))]).featureViews[0]?.onlineStore
          .keyPrefix;
      expect(prefix({ description: 'x' })).toBe(compiled?.onlineStore.keyPrefix);
      expect(prefix({ features: { age: 'int64', plan: 'string' } })).not.toBe(
        compiled?.onlineStore.keyPrefix,
      );
    });

    it('flattens entities to names and join keys, and services to typed output columns', () => {
      expect(compiled).toMatchObject({
        name: 'profile',
        transform: 'passthrough',
        entities: ['customer'],
        joinKeys: [{ name: 'customer_id', type: 'string' }],
        source: 'profiles',
        ttl: '30d',
        ttlSeconds: 2_592_000,
        online: true,
        schedule: 'rate(1 hour)',
        status: 'active',
        definedIn: 'services.ts',
      });
      expect(registry.featureServices).toEqual([
        {
          name: 'model',
          features: [{ view: 'profile', feature: 'age', outputName: 'age', type: 'int32' }],
          online: true,
          status: 'active',
          tags: {},
          definedIn: 'services.ts',
        },
      ]);
    });
  });

  it('marks a service online only when every view it reads is online', () => {
    const offline = defineFeatureView(
      viewInput({ name: 'offline_profile', online: false, schedule: undefined }),
    );
    const registry = compileRegistry([
      at(service),
      at(
        defineFeatureService({
          name: 'mixed',
          features: [view.select(['age']), offline.select([{ feature: 'plan', alias: 'p' }])],
        }),
      ),
    ]);
    expect(registry.featureServices.map((s) => [s.name, s.online])).toEqual([
      ['mixed', false],
      ['model', true],
    ]);
  });

  describe('references', () => {
    it('includes definitions referenced but not exported, attributed to the referring file', () => {
      const registry = compileRegistry([at(service, 'services.ts')]);
      expect(registry.entities.map((e) => [e.name, e.definedIn])).toEqual([
        ['customer', 'services.ts'],
      ]);
      expect(registry.sources.map((s) => [s.name, s.definedIn])).toEqual([
        ['profiles', 'services.ts'],
      ]);
      expect(registry.featureViews.map((v) => [v.name, v.definedIn])).toEqual([
        ['profile', 'services.ts'],
      ]);
    });

    it('attributes each definition to the file that exports it, over files that use it', () => {
      const registry = compileRegistry([
        at(service, 'a_services.ts'),
        at(customer, 'z_entities.ts'),
        at(view, 'y_views.ts'),
      ]);
      expect(registry.entities[0]?.definedIn).toBe('z_entities.ts');
      expect(registry.featureViews[0]?.definedIn).toBe('y_views.ts');
      expect(registry.sources[0]?.definedIn).toBe('y_views.ts');
    });

    it('leaves definedIn out when no file is known', () => {
      const registry = compileRegistry([{ definition: view }]);
      expect(registry.featureViews[0]).not.toHaveProperty('definedIn');
      expect(registry.entities[0]).not.toHaveProperty('definedIn');
    });
  });

  describe('duplicate names', () => {
    const copy = defineFeatureView(viewInput({ description: 'copy' }));

    it('rejects two views with the same name in different files, naming both files', () => {
      const expected = [
        {
          definition: 'feature view "profile"',
          field: 'name',
          message: 'is defined twice (a.ts and b.ts)',
          hint: 'rename one of them or delete the copy; names are unique per kind',
          file: 'b.ts',
        },
      ];
      expect(issuesOf(() => compileRegistry([at(view, 'a.ts'), at(copy, 'b.ts')]))).toEqual(
        expected,
      );
      expect(issuesOf(() => compileRegistry([at(copy, 'b.ts'), at(view, 'a.ts')]))).toEqual(
        expected,
      );
    });

    it('rejects duplicate entities, sources and services too', () => {
      const issues = issuesOf(() =>
        compileRegistry([
          at(customer, 'a.ts'),
          at(defineEntity({ ...entityInput, description: 'x' }), 'b.ts'),
          at(source, 'a.ts'),
          at(defineSource({ ...sourceInput, description: 'x' }), 'b.ts'),
          at(service, 'a.ts'),
          at(defineFeatureService({ name: 'model', features: [view] }), 'b.ts'),
        ]),
      );
      expect(issues.map((i) => i.definition)).toEqual([
        'entity "customer"',
        'source "profiles"',
        'feature service "model"',
      ]);
      expect(issues.every((i) => i.message === 'is defined twice (a.ts and b.ts)')).toBe(true);
    });

    it('says when a copy is not exported from any file', () => {
      const issues = issuesOf(() => compileRegistry([at(view, 'a.ts'), { definition: copy }]));
      expect(issues[0]?.message).toBe(
        'is defined twice (a.ts and a definition not exported from any file)',
      );
    });

    it('accepts the same definition exported from two files', () => {
      expect(compileRegistry([at(view, 'a.ts'), at(view, 'b.ts')]).featureViews).toHaveLength(1);
    });

    it('accepts the same name in different kinds', () => {
      const named = defineFeatureView(viewInput({ name: 'profiles' }));
      const registry = compileRegistry([at(named)]);
      expect(registry.sources[0]?.name).toBe('profiles');
      expect(registry.featureViews[0]?.name).toBe('profiles');
    });

    it('rejects a service built on a copy of a registered view, naming what the copy lacks', () => {
      const older = defineFeatureView(
        viewInput({ features: { age: 'int32', plan: 'string', score: 'float64' } }),
      );
      const stale = defineFeatureService({ name: 'stale', features: [older.select(['score'])] });
      const issues = issuesOf(() =>
        compileRegistry([at(stale, 'z_stale.ts'), at(view, 'views.ts')]),
      );
      expect(issues).toEqual([
        expect.objectContaining({
          definition: 'feature view "profile"',
          message: 'is defined twice (views.ts and z_stale.ts)',
        }),
        {
          definition: 'feature service "stale"',
          field: 'features[profile].score',
          message: 'selects "score", which the registered view "profile" does not have',
          hint: 'select from the view that is registered, or add the feature to it',
          file: 'z_stale.ts',
        },
      ]);
    });
  });

  describe('join keys across entities', () => {
    it('accepts one join-key name with one type in several entities', () => {
      const buyer = defineEntity({
        name: 'buyer',
        joinKeys: [{ name: 'customer_id', type: 'string' }],
      });
      expect(compileRegistry([at(customer), at(buyer)]).entities.map((e) => e.name)).toEqual([
        'buyer',
        'customer',
      ]);
    });

    it('rejects a join-key name with different types in two entities, naming both', () => {
      const numeric = defineEntity({
        name: 'legacy_customer',
        joinKeys: [{ name: 'customer_id', type: 'int64' }],
      });
      const expected = [
        {
          definition: 'entity "legacy_customer"',
          field: 'joinKeys',
          message: 'join key "customer_id" is int64 here but string in entity "customer"',
          hint: 'a join key name must have one type everywhere; rename one or make the types agree',
          file: 'legacy.ts',
        },
      ];
      expect(
        issuesOf(() => compileRegistry([at(customer, 'entities.ts'), at(numeric, 'legacy.ts')])),
      ).toEqual(expected);
      expect(
        issuesOf(() => compileRegistry([at(numeric, 'legacy.ts'), at(customer, 'entities.ts')])),
      ).toEqual(expected);
    });
  });

  it('reports every cross-definition problem at once', () => {
    const numeric = defineEntity({
      name: 'legacy_customer',
      joinKeys: [{ name: 'customer_id', type: 'int64' }],
    });
    const copy = defineFeatureView(viewInput({ description: 'copy' }));
    const issues = issuesOf(() =>
      compileRegistry([at(view, 'a.ts'), at(copy, 'b.ts'), at(numeric, 'c.ts')]),
    );
    expect(issues.map((i) => i.definition)).toEqual([
      'feature view "profile"',
      'entity "legacy_customer"',
    ]);
  });
});
