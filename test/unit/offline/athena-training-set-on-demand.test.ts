import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { getTrainingSetOnAthena } from '../../../lib/offline/athena-training-set.ts';
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
  name: 'rev_ratio',
  request: { basket: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { ratio: 'float64' },
  transform: (row) => ({ ratio: row.monthly ? row.basket / row.monthly : null }),
});
const registry = compileRegistry([
  { definition: defineFeatureService({ name: 'checkout', features: [profile, ratio] }) },
]);

describe('training sets of a service with on-demand features on AWS (fstore training-set --env dev)', () => {
  it('are refused naming the on-demand features before anything is uploaded or queried (Athena does not run transforms yet)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rev-od-'));
    const entities = path.join(dir, 'entities.csv');
    await writeFile(entities, 'customer_id,event_timestamp\nC1,2026-03-01T00:00:00Z\n');
    const calls: string[] = [];
    const made = getTrainingSetOnAthena({
      registry,
      service: 'checkout',
      entities,
      bucket: 'b',
      database: 'd',
      downloadDir: dir,
      runner: {
        run: async () => {
          calls.push('athena');
          throw new Error('athena reached');
        },
      } as never,
      s3: {
        send: async () => {
          calls.push('s3');
          throw new Error('s3 reached');
        },
      } as never,
    });
    await expect(made).rejects.toThrow(
      /serves on-demand features \(ratio\), which training sets on Athena/,
    );
    expect(calls).toEqual([]);
  });
});
