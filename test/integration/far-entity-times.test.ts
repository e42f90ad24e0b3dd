import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

// Times past ±2^53 µs (before mid-1684, after mid-2255) do not fit a JS number exactly: the small
// request's latest-row search must keep each window's earliest entity time exact (dc4dbc6).
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const scores = defineSource({
  name: 'scores',
  schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const anyScore = defineFeatureView({
  name: 'any_score',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
});

describe.each(['asof', 'merge-window'] as const)(
  'a small request at entity times beyond 2^53 microseconds (%s strategy)',
  (strategy) => {
    it.each([
      { year: 2300, before: '2299-12-31T10:00:00Z', at: '2300-01-01T12:00:00Z' },
      { year: 1600, before: '1599-12-31T10:00:00Z', at: '1600-01-01T12:00:00Z' },
    ])(
      'finds the previous day’s row when a row 1µs after the entity time exists (year $year)',
      async ({ before, at }) => {
        const after = at.replace('Z', '.000001Z');
        const fixture = await offlineFixture([anyScore], strategy);
        await fixture.ingest('scores', [
          { customer_id: 'A', event_ts: before, score: 1 },
          { customer_id: 'A', event_ts: after, score: 2 },
        ]);
        const result = await fixture.trainingSet([{ customer_id: 'A', event_timestamp: at }], {
          request: { features: ['any_score:score'] },
        });
        // The small-request path: the latest-row search ran.
        expect(result.sql).toContain('fstore_found_');
        expect(result.records?.map((r) => r.score)).toEqual([1]);
      },
    );
  },
);
