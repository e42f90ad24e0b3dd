import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { EntityFileError } from '../../lib/offline/load-entities.ts';
import { OnDemandRowError } from '../../lib/offline/on-demand-columns.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', monthly: 'float64', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { monthly: 'float64', plan: 'string' },
  ttl: '30d',
});
const spendRatio = defineOnDemandView({
  name: 'spend_ratio',
  request: { basket: 'float64', coupon: 'string' },
  inputs: [profile.select(['monthly'])],
  features: { ratio: 'float64', big: { type: 'bool', nullable: false }, code: 'string' },
  transform: (row) => {
    if (row.basket === 13) throw new Error('unlucky basket');
    return {
      ratio: row.monthly === null ? null : row.basket / row.monthly,
      big: row.basket === 7 ? 'yes' : row.basket > 100,
      code: `${row.coupon}`,
    };
  },
});
// The service does not select `monthly`: the training set fetches it for the transform only.
const checkout = defineFeatureService({
  name: 'checkout',
  features: [profile.select(['plan']), spendRatio],
});
const definitions = [customer, profiles, profile, spendRatio, checkout];

const at = '2026-03-10T00:00:00.000Z';
const profileRows = [
  { customer_id: 'C1', monthly: 50, plan: 'basic', event_ts: '2026-03-01T00:00:00Z' },
  // After the entity time: never seen.
  { customer_id: 'C1', monthly: 1, plan: 'gold', event_ts: '2026-03-20T00:00:00Z' },
  { customer_id: 'C2', monthly: 0.1, plan: 'gold', event_ts: '2026-03-02T00:00:00Z' },
];

async function fixtureWithProfiles(strategy?: 'asof' | 'merge-window') {
  const fixture = await offlineFixture(definitions, strategy);
  await fixture.ingest('profiles', profileRows);
  return fixture;
}

describe('a training set of a service with an on-demand view', () => {
  it.each(['asof', 'merge-window'] as const)(
    'computes each row’s features from its request columns and the point-in-time inputs (%s)',
    async (strategy) => {
      const fixture = await fixtureWithProfiles(strategy);
      const result = await fixture.trainingSet(
        [
          { customer_id: 'C1', event_timestamp: at, basket: 120.5, coupon: '007', label: 1 },
          { customer_id: 'C2', event_timestamp: at, basket: 0.3, coupon: 'x', label: 0 },
          { customer_id: 'NONE', event_timestamp: at, basket: 5, coupon: 'y', label: 0 },
        ],
        { request: { service: 'checkout' } },
      );
      expect(result.columns).toEqual([
        'customer_id',
        'event_timestamp',
        'basket',
        'coupon',
        'label',
        'plan',
        'ratio',
        'big',
        'code',
      ]);
      const pick = (r: Record<string, unknown>) => [r.customer_id, r.plan, r.ratio, r.big, r.code];
      expect(result.records?.map(pick)).toEqual([
        ['C1', 'basic', 120.5 / 50, true, '007'],
        ['C2', 'gold', 0.3 / 0.1, false, 'x'],
        ['NONE', null, null, false, 'y'],
      ]);
    },
    120_000,
  );

  it('keeps a CSV request value of a string field as written and names columns view__feature on request', async () => {
    const fixture = await fixtureWithProfiles();
    const file = path.join(fixture.dataDir, 'entities.csv');
    await writeFile(file, `customer_id,event_timestamp,basket,coupon\nC1,${at},10,007\n`);
    const result = await fixture.trainingSet([], {
      request: { service: 'checkout' },
      entities: file,
      fullFeatureNames: true,
    });
    expect(result.records).toEqual([
      expect.objectContaining({
        profile__plan: 'basic',
        spend_ratio__ratio: 0.2,
        spend_ratio__code: '007',
      }),
    ]);
  }, 60_000);

  it('refuses an entity file without a request column, naming it, and writes nothing', async () => {
    const fixture = await fixtureWithProfiles();
    const out = path.join(fixture.dataDir, 'out.parquet');
    const made = fixture.trainingSet([{ customer_id: 'C1', event_timestamp: at, basket: 1 }], {
      request: { service: 'checkout' },
      out,
    });
    await expect(made).rejects.toThrow(EntityFileError);
    await expect(made).rejects.toThrow(/no column "coupon" \(string\).*request value/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it.each([
    [
      { basket: 'lots', coupon: 'a' },
      /entity row 2, column basket .*must be a finite number, got "lots"/,
    ],
    [{ basket: null, coupon: 'a' }, /entity row 2, column basket .*empty value/],
    [{ basket: 1, coupon: null }, /entity row 2, column coupon .*empty value/],
  ])(
    'stops at a request value that is missing or mistyped, naming row and column: %j',
    async (bad, message) => {
      const fixture = await fixtureWithProfiles();
      const made = fixture.trainingSet(
        [
          { customer_id: 'C1', event_timestamp: at, basket: 1, coupon: 'a' },
          { customer_id: 'C2', event_timestamp: at, ...bad },
        ],
        { request: { service: 'checkout' } },
      );
      await expect(made).rejects.toThrow(OnDemandRowError);
      await expect(made).rejects.toThrow(message);
    },
    60_000,
  );

  it.each([
    [13, /entity row 2: on-demand view spend_ratio: transform threw: unlucky basket/],
    [7, /entity row 2: on-demand view spend_ratio: feature "big" \(bool\) must be true or false/],
  ])(
    'stops at a transform that fails (basket %s), naming the entity row',
    async (basket, message) => {
      const fixture = await fixtureWithProfiles();
      const out = path.join(fixture.dataDir, 'out.parquet');
      const made = fixture.trainingSet(
        [
          { customer_id: 'C1', event_timestamp: at, basket: 1, coupon: 'a' },
          { customer_id: 'C2', event_timestamp: at, basket, coupon: 'b' },
        ],
        { request: { service: 'checkout' }, out },
      );
      await expect(made).rejects.toThrow(message);
      expect(existsSync(out)).toBe(false);
    },
    60_000,
  );

  it('gives a failing row NULL features and counts it with onTransformError null', async () => {
    const fixture = await fixtureWithProfiles();
    const result = await fixture.trainingSet(
      [
        { customer_id: 'C1', event_timestamp: at, basket: 13, coupon: 'a' },
        { customer_id: 'C2', event_timestamp: at, basket: 0.3, coupon: 'b' },
        { customer_id: 'C1', event_timestamp: at, basket: 7, coupon: 'c' },
      ],
      { request: { service: 'checkout' }, onTransformError: 'null' },
    );
    expect(result.records?.map((r) => [r.ratio, r.big, r.code])).toEqual([
      [null, null, null],
      [0.3 / 0.1, false, 'b'],
      [null, null, null],
    ]);
    expect(result.transformErrors).toEqual({
      rows: 2,
      first: expect.stringMatching(/^entity row [13]: on-demand view spend_ratio/),
    });
  }, 60_000);

  it('leaves requests by view:feature references as they were', async () => {
    const fixture = await fixtureWithProfiles();
    const result = await fixture.trainingSet([{ customer_id: 'C1', event_timestamp: at }], {
      request: { features: ['profile:monthly'] },
    });
    expect(result.columns).toEqual(['customer_id', 'event_timestamp', 'monthly']);
    expect(result.transformErrors).toBeUndefined();
  }, 60_000);
});
