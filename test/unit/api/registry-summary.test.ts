import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../lib/api/openapi.ts';
import { registrySummary } from '../../../lib/api/registry-summary.ts';
import { registrySummarySchema } from '../../../lib/api/registry-summary-schema.ts';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { lookupRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const registry = compileRegistry(await loadDefinitions(`${repoRoot}/feature-defs`));
const local = registrySummary(registry);
const deployed = registrySummary(lookupRegistryProjection(registry));

const profileOf = (summary: typeof local) => {
  const profile = summary.featureViews.find((v) => v.name === 'customer_profile');
  if (!profile) throw new Error('the example registry has no customer_profile view');
  return profile as Record<string, unknown> & { features: Record<string, unknown>[] };
};
const serviceOf = (summary: typeof local) =>
  summary.featureServices.find((s) => s.name === 'churn_v1') as Record<string, unknown>;

describe('GET /v1/registry', () => {
  it('shows owners, descriptions and tags from a whole registry (the local server)', () => {
    const profile = profileOf(local);
    expect(profile.owner).toBe('growth-ml@example.com');
    expect(profile.description).toEqual(expect.any(String));
    expect(profile.tags).toEqual(expect.any(Object));
    expect(profile.features.find((f) => f.name === 'age')?.description).toBe('Age in years');
    expect(serviceOf(local).owner).toEqual(expect.any(String));
  });

  it('leaves the keys out, not null, from a deployed function’s projection, which has no metadata', () => {
    const profile = profileOf(deployed);
    for (const item of [profile, serviceOf(deployed), ...profile.features])
      for (const key of ['owner', 'description', 'tags']) expect(item).not.toHaveProperty(key);
    // Everything else is as the whole registry has it.
    const { owner: _o, description: _d, tags: _t, features, ...rest } = profileOf(local);
    expect(profile).toMatchObject({
      ...rest,
      features: features.map(({ name, type }) => ({ name, type })),
    });
  });

  it('matches the schema the OpenAPI document publishes, with and without metadata', () => {
    for (const summary of [local, deployed])
      expect(registrySummarySchema.safeParse(summary).error).toBeUndefined();
    const response = openApiDocument('v').paths['/v1/registry'].get.responses['200'];
    const schema = response.content['application/json'].schema as unknown as {
      properties: { featureViews: { items: { required: string[]; properties: object } } };
    };
    const view = schema.properties.featureViews.items;
    expect(view.required).toEqual(expect.arrayContaining(['name', 'version', 'joinKeys', 'ttl']));
    expect(view.required).not.toContain('owner');
    expect(view.properties).toHaveProperty('owner');
  });
});
