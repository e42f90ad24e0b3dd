import { describe, expect, it } from 'vitest';
import type { Registry } from '../../../lib/registry/index.ts';
import {
  lookupRegistryProjection,
  materializerRegistryProjection,
  type RuntimeRegistry,
} from '../../../lib/registry/runtime-projection.ts';
import { contentHash } from '../../../lib/registry/stable-json.ts';
import {
  type DefinitionEdit,
  editedExampleRegistry,
} from '../../helpers/edited-example-registry.ts';

/** The bytes esbuild's `define` compiles into a bundle. */
const embedded = (registry: Registry) => ({
  lookup: JSON.stringify(lookupRegistryProjection(registry)),
  materializer: JSON.stringify(materializerRegistryProjection(registry)),
});

const metadataEdits: Record<string, DefinitionEdit[]> = {
  'a schedule': [
    { file: 'views.ts', from: "schedule: 'rate(6 hours)'", to: "schedule: 'rate(2 hours)'" },
  ],
  'a view description': [
    {
      file: 'views.ts',
      from: 'Latest profile attributes of a customer.',
      to: 'The newest CRM attributes of a customer.',
    },
  ],
  'a feature description': [
    {
      file: 'views.ts',
      from: "description: 'Age in years'",
      to: "description: 'Age in whole years'",
    },
  ],
  'a source, entity and service description': [
    { file: 'sources.ts', from: 'from the CRM export.', to: 'from the nightly CRM export.' },
    { file: 'entities.ts', from: 'ids look like C000001.', to: 'ids look like C123456.' },
    { file: 'services.ts', from: 'a subset of churn_v1.', to: 'served online.' },
  ],
  'every owner': [
    { file: 'views.ts', from: 'growth-ml@example.com', to: 'ml-platform@example.com' },
    { file: 'services.ts', from: 'growth-ml@example.com', to: 'ml-platform@example.com' },
    { file: 'sources.ts', from: 'data-platform@example.com', to: 'ingest@example.com' },
    { file: 'entities.ts', from: 'growth-ml@example.com', to: 'ml-platform@example.com' },
  ],
  tags: [
    { file: 'views.ts', from: "tier: 'gold'", to: "tier: 'platinum'" },
    { file: 'services.ts', from: "tags: { model: 'churn' }", to: "tags: { model: 'churn-v2' }" },
  ],
  'an expected freshness': [
    {
      file: 'views.ts',
      from: "schedule: 'rate(1 day)',",
      to: "schedule: 'rate(1 day)',\n  expectedFreshness: '36h',",
    },
  ],
  'a leakage note': [
    { file: 'views.ts', from: 'can leak the churn label', to: 'may leak the churn label' },
  ],
};

describe('runtime projections of the registry', () => {
  it.each(Object.entries(metadataEdits))(
    'leave both functions’ embedded registry byte-identical when %s changes',
    async (_, edits) => {
      const before = await editedExampleRegistry();
      const after = await editedExampleRegistry(edits);
      expect(after.version, 'the edit changes the full registry').not.toBe(before.version);
      expect(embedded(after)).toEqual(embedded(before));
    },
    60_000,
  );

  it('changes both projections when a TTL changes, since lookups and written items enforce it', async () => {
    const before = embedded(await editedExampleRegistry());
    const after = embedded(
      await editedExampleRegistry([{ file: 'views.ts', from: "ttl: '30d'", to: "ttl: '60d'" }]),
    );
    expect(after.lookup).not.toBe(before.lookup);
    expect(after.materializer).not.toBe(before.materializer);
  }, 60_000);

  it('changes only the materializer’s projection when a constraint or quality rule changes (it quarantines and reports; lookups do not check)', async () => {
    const before = embedded(await editedExampleRegistry());
    for (const edit of [
      { file: 'views.ts', from: 'min: 18, max: 120', to: 'min: 16, max: 120' },
      {
        file: 'views.ts',
        from: "schedule: 'rate(1 day)',",
        to: "schedule: 'rate(1 day)',\n  quality: { minRows: 10 },",
      },
    ]) {
      const after = embedded(await editedExampleRegistry([edit]));
      expect(after.lookup, edit.to).toBe(before.lookup);
      expect(after.materializer, edit.to).not.toBe(before.materializer);
    }
  }, 60_000);

  it('changes only the lookup’s projection when a feature service changes (the materializer reads none)', async () => {
    const before = embedded(await editedExampleRegistry());
    const after = embedded(
      await editedExampleRegistry([
        {
          file: 'services.ts',
          from: "customerContract.select(['contract_type'])",
          to: "customerContract.select(['contract_type', 'payment_method'])",
        },
      ]),
    );
    expect(after.lookup).not.toBe(before.lookup);
    expect(after.materializer).toBe(before.materializer);
  }, 60_000);

  it('keeps views that are not online out of the materializer’s projection, with their sources', async () => {
    const registry = await editedExampleRegistry([], { 'offline-view.ts': offlineViewFile });
    const projection = materializerRegistryProjection(registry);
    expect(projection.featureViews.map((v) => v.name)).toEqual([
      'customer_contract',
      'customer_profile',
      'last_order',
      'order_stats',
    ]);
    expect(projection.sources.map((s) => s.name)).toEqual([
      'customer_contracts',
      'customer_profiles',
      'orders',
    ]);
    expect(projection.entities).toEqual([]);
    expect(projection.featureServices).toEqual([]);
    // The lookup lists it, to answer VIEW_NOT_ONLINE rather than UNKNOWN_VIEW.
    expect(lookupRegistryProjection(registry).featureViews.map((v) => v.name)).toContain(
      'support_tickets',
    );
  }, 60_000);

  it('keeps what each function reads and drops the metadata', async () => {
    const registry = await editedExampleRegistry();
    const lookup = lookupRegistryProjection(registry);
    const materializer = materializerRegistryProjection(registry);
    const profileOf = (r: RuntimeRegistry) =>
      r.featureViews.find((v) => v.name === 'customer_profile');
    expect(profileOf(lookup)).toEqual({
      name: 'customer_profile',
      version: profileOf(registry)?.version,
      transform: 'passthrough',
      entities: ['customer'],
      joinKeys: [{ name: 'customer_id', type: 'string' }],
      source: 'customer_profiles',
      features: [
        { name: 'age', type: 'int32', nullable: true },
        { name: 'plan', type: 'string', nullable: false },
        { name: 'region', type: 'string', nullable: true },
        { name: 'monthly_charges', type: 'float64', nullable: true },
        { name: 'tenure_months', type: 'int32', nullable: true },
      ],
      ttl: '30d',
      ttlSeconds: 2_592_000,
      online: true,
      status: 'active',
      offline: profileOf(registry)?.offline,
      onlineStore: profileOf(registry)?.onlineStore,
    });
    expect(profileOf(materializer)?.features[0]).toEqual({
      name: 'age',
      type: 'int32',
      nullable: true,
      min: 18,
      max: 120,
    });
    expect(profileOf(materializer)?.features[1]?.allowedValues).toEqual([
      'basic',
      'standard',
      'premium',
    ]);
    for (const projection of [lookup, materializer]) {
      const text = JSON.stringify(projection);
      for (const dropped of ['description', 'owner', 'schedule', 'definedIn', 'leakageRisk'])
        expect(text, dropped).not.toContain(`"${dropped}"`);
    }
    expect(lookup.featureServices.map((s) => [s.name, s.online])).toEqual([
      ['churn_online', true],
      ['churn_v1', true],
    ]);
  }, 60_000);

  it('types the projections without the dropped fields, so function code that reads one does not compile (npx tsc)', async () => {
    const registry = await editedExampleRegistry();
    for (const projection of [
      lookupRegistryProjection(registry),
      materializerRegistryProjection(registry),
    ]) {
      const view = projection.featureViews[0];
      expect(view).toBeDefined();
      // @ts-expect-error descriptions are left out
      expect(view?.description).toBeUndefined();
      // @ts-expect-error owners are left out
      expect(view?.owner).toBeUndefined();
      // @ts-expect-error tags are left out
      expect(view?.tags).toBeUndefined();
      // @ts-expect-error schedules are left out
      expect(view?.schedule).toBeUndefined();
      // @ts-expect-error leakage notes are left out
      expect(view?.leakageRisk).toBeUndefined();
      // @ts-expect-error feature descriptions are left out
      expect(view?.features[0]?.description).toBeUndefined();
      // @ts-expect-error sources' owners are left out
      expect(projection.sources[0]?.owner).toBeUndefined();
    }
  });

  it('versions each projection by a hash of the projection itself, not of the whole registry', async () => {
    const registry = await editedExampleRegistry();
    for (const projection of [
      lookupRegistryProjection(registry),
      materializerRegistryProjection(registry),
    ]) {
      const { version, ...body } = projection;
      expect(version).toBe(contentHash(body, 16));
      expect(version).not.toBe(registry.version);
    }
  }, 60_000);
});

const offlineViewFile = `import { defineFeatureView, defineSource } from 'fstore:definitions';
import { customer } from './entities.ts';

const tickets = defineSource({
  name: 'support_tickets_raw',
  schema: { customer_id: 'string', open_tickets: 'int32', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});

export const supportTickets = defineFeatureView({
  name: 'support_tickets',
  entities: [customer],
  source: tickets,
  features: { open_tickets: { type: 'int32' } },
  online: false,
});
`;
