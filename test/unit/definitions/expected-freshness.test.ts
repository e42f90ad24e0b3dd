import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { issueAt } from '../../helpers/definition-issues.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const source = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const view = (expectedFreshness?: string) =>
  defineFeatureView({
    name: 'profile',
    entities: [customer],
    source,
    features: { plan: 'string' },
    online: true,
    schedule: 'rate(1 hour)',
    ...(expectedFreshness ? { expectedFreshness } : {}),
  });

describe('expectedFreshness of a view', () => {
  it('accepts a duration and compiles it into seconds without changing the view version', () => {
    const registry = compileRegistry([{ definition: view('3h') }]);
    expect(registry.featureViews[0]).toMatchObject({
      expectedFreshness: '3h',
      expectedFreshnessSeconds: 10_800,
    });
    expect(registry.featureViews[0]?.version).toBe(
      compileRegistry([{ definition: view() }]).featureViews[0]?.version,
    );
  });

  it('rejects what is not a duration, naming the field', () => {
    expect(issueAt(() => view('soon'), 'expectedFreshness').message).toBe(
      '"soon" is not a duration',
    );
  });
});
