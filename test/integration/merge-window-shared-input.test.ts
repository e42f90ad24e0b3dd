import { describe, expect, it } from 'vitest';
import { defineFeatureService, defineOnDemandView } from '../../lib/definitions/index.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { renderServiceRequestSql } from '../../lib/sql/athena-service-query.ts';
import { monthlyProfile } from '../helpers/monthly-profile.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const { customer, profiles, profile } = monthlyProfile({ ttl: '30d' });
const doubled = defineOnDemandView({
  name: 'doubled',
  inputs: [profile.select(['monthly'])],
  features: { twice: 'float64' },
  transform: (row) => ({ twice: row.monthly === null ? null : row.monthly * 2 }),
});
// The service selects `monthly` itself and as the transform's input: the join reads it twice.
const service = defineFeatureService({
  name: 'monthly_twice',
  features: [profile.select(['monthly']), doubled],
});

describe('a training set whose service selects a feature an on-demand view also reads', () => {
  it.each(['asof', 'merge-window'] as const)(
    'gives the feature and the transform of it (%s)',
    async (strategy) => {
      const fixture = await offlineFixture(
        [customer, profiles, profile, doubled, service],
        strategy,
      );
      await fixture.ingest('profiles', [
        { customer_id: 'C1', monthly: 21.5, event_ts: '2026-03-01T00:00:00Z' },
      ]);
      const result = await fixture.trainingSet(
        [
          { customer_id: 'C1', event_timestamp: '2026-03-10T00:00:00Z' },
          { customer_id: 'C2', event_timestamp: '2026-03-10T00:00:00Z' },
        ],
        { request: { service: 'monthly_twice' } },
      );
      expect(result.records?.map((r) => [r.customer_id, r.monthly, r.twice])).toEqual([
        ['C1', 21.5, 43],
        ['C2', null, null],
      ]);
    },
    60_000,
  );

  it('names each field of the Athena statement’s carried ROW once', () => {
    const registry = compileRegistry(
      [customer, profiles, profile, doubled, service].map((definition) => ({ definition })),
    );
    const sql = renderServiceRequestSql(registry, 'monthly_twice', 'db');
    const rowTypes = [...sql.matchAll(/AS ROW\((.*)\)\) AS fstore_values/g)].map((m) =>
      (m[1] ?? '').split(', ').map((field) => field.split(' ')[0]),
    );
    expect(rowTypes).toEqual([['"fstore_event_ts"', '"monthly"']]);
  });
});
