import { describe, expect, it } from 'vitest';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { offlineFixture } from '../../helpers/offline-fixture.ts';
import {
  at,
  customer,
  profile,
  profileRows,
  profiles,
} from '../../helpers/on-demand-echo-fixture.ts';

// Misbehaving transforms (selected by the request value `how`) never crash the training set:
// each is a TransformError naming the row (fail) or a NULL row counted (null).
const hostile = defineOnDemandView({
  name: 'hostile',
  request: { how: 'string' },
  inputs: [profile.select(['monthly'])],
  features: { result: 'float64' },
  transform: (row) => {
    switch (row.how) {
      case 'throw-undefined':
        throw undefined;
      case 'throw-bare-object':
        throw Object.create(null);
      case 'mutate-row':
        (row as Record<string, unknown>).how = 'changed';
        return { result: 1 };
      case 'throwing-proxy':
        return new Proxy(
          {},
          {
            get: () => {
              throw new Error('trap');
            },
            ownKeys: () => {
              throw new Error('trap');
            },
          },
        );
      case 'bigint':
        return { result: 1n };
      default:
        return { result: row.monthly };
    }
  },
});
// A second view reading the same input and the same request field.
const twin = defineOnDemandView({
  name: 'twin',
  request: { how: 'string' },
  inputs: [profile.select([{ feature: 'monthly', alias: 'stored_monthly' }])],
  features: { twin_out: 'string' },
  transform: (row) => ({ twin_out: `${row.how}:${row.stored_monthly}` }),
});
const service = defineFeatureService({ name: 'hostile_service', features: [hostile, twin] });
const hows = [
  'ok',
  'throw-undefined',
  'throw-bare-object',
  'mutate-row',
  'throwing-proxy',
  'bigint',
];

describe('misbehaving transforms in a training set', () => {
  it('give their rows NULL features, count them, and leave the other view of the row alone', async () => {
    const fixture = await offlineFixture([customer, profiles, profile, hostile, twin, service]);
    await fixture.ingest('profiles', profileRows);
    const result = await fixture.trainingSet(
      hows.map((how) => ({ customer_id: 'C1', event_timestamp: at, how })),
      { request: { service: 'hostile_service' }, onTransformError: 'null' },
    );
    expect(result.records?.map((r) => [r.how, r.result, r.twin_out])).toEqual(
      hows.map((how) => [how, how === 'ok' ? 50 : null, `${how}:50`]),
    );
    expect(result.transformErrors?.rows).toBe(hows.length - 1);
  }, 120_000);
});
