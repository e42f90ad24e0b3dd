import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { getTrainingSet, TrainingSetError } from '../../../lib/offline/training-set.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', monthly: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { monthly: 'float64' },
});
const ratio = defineOnDemandView({
  name: 'spend_ratio',
  request: { basket: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { ratio: 'float64' },
  transform: (row) => ({ ratio: row.monthly ? row.basket / row.monthly : null }),
});
const registry = compileRegistry([
  { definition: defineFeatureService({ name: 'checkout', features: [profile, ratio] }) },
]);

describe('a training set of a service with on-demand features', () => {
  it('is refused naming the features, before any file is read, rather than made without them', async () => {
    const made = getTrainingSet({
      registry,
      dataDir: '/nonexistent',
      env: 'local',
      request: { service: 'checkout' },
      entities: '/nonexistent/entities.csv',
    });
    await expect(made).rejects.toThrow(TrainingSetError);
    await expect(made).rejects.toThrow(/serves on-demand features \(ratio\)/);
  });
});
