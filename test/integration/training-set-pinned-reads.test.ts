import { describe, expect, it } from 'vitest';
import { defineAggregationView, defineFeatureView } from '../../lib/definitions/index.ts';
import { compactStore } from '../../lib/offline/compact.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { KEY_LIST_MAX_ROWS } from '../../lib/offline/request-scope.ts';
import { committedSeqs } from '../../lib/offline/seq-pins.ts';
import { customer, scores } from '../helpers/customer-scores.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const latestScore = defineFeatureView({
  name: 'latest_score',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
  ttl: '30d',
});
const scoreCount = defineAggregationView({
  name: 'score_count',
  entities: [customer],
  source: scores,
  aggregations: { score: { functions: ['count'], windows: ['30d'] } },
});

const row = (customer_id: string, event_ts: string, score: number) => ({
  customer_id,
  event_ts,
  score,
});
/** The highest `fstore_seq` committed of `source` now. */
async function committedNow(dataDir: string, source = 'scores'): Promise<bigint> {
  const records = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
  return committedSeqs(records, [source]).get(source)?.maxSeq ?? 0n;
}
const asked = [{ customer_id: 'A', event_timestamp: '2026-03-10T00:00:00Z' }];

describe.each(['asof', 'merge-window'] as const)(
  'a training set pinned to fstore_seq <= n reads the source as it was (%s strategy)',
  (strategy) => {
    it('gives the old winner after a later ingest on a later day (the latest-row search is pinned too)', async () => {
      const fixture = await offlineFixture([latestScore], strategy);
      await fixture.ingest('scores', [
        row('A', '2026-03-01T12:00:00Z', 1),
        row('B', '2026-03-01T12:00:00Z', 2),
      ]);
      const pin = await committedNow(fixture.dataDir);
      await fixture.ingest('scores', [row('A', '2026-03-08T12:00:00Z', 8)]);
      const request = { features: ['latest_score:score'] };
      const latest = await fixture.trainingSet(asked, { request });
      const pinned = await fixture.trainingSet(asked, {
        request,
        pins: new Map([['scores', pin]]),
      });
      expect(latest.records?.map((r) => r.score)).toEqual([8]);
      expect(pinned.records?.map((r) => r.score)).toEqual([1]);
    });

    it('gives the old winner when a later ingest ties on event time (fstore_seq breaks the tie)', async () => {
      const fixture = await offlineFixture([latestScore], strategy);
      await fixture.ingest('scores', [row('A', '2026-03-05T12:00:00Z', 5)]);
      const pin = await committedNow(fixture.dataDir);
      await fixture.ingest('scores', [row('A', '2026-03-05T12:00:00Z', 55)]);
      const request = { features: ['latest_score:score'] };
      const pinned = await fixture.trainingSet(asked, {
        request,
        pins: new Map([['scores', pin]]),
      });
      expect((await fixture.trainingSet(asked, { request })).records?.[0]?.score).toBe(55);
      expect(pinned.records?.[0]?.score).toBe(5);
    });

    it('sees no row of a source pinned at 0 (nothing was committed then)', async () => {
      const fixture = await offlineFixture([latestScore], strategy);
      await fixture.ingest('scores', [row('A', '2026-03-05T12:00:00Z', 5)]);
      const pinned = await fixture.trainingSet(asked, {
        request: { features: ['latest_score:score'] },
        pins: new Map([['scores', 0n]]),
      });
      expect(pinned.records?.[0]?.score).toBeNull();
    });

    it('keeps the pin over more entity rows than the key list takes (no keyed scans)', async () => {
      const fixture = await offlineFixture([latestScore], strategy);
      await fixture.ingest('scores', [row('A', '2026-03-01T12:00:00Z', 1)]);
      const pin = await committedNow(fixture.dataDir);
      await fixture.ingest('scores', [row('A', '2026-03-08T12:00:00Z', 8)]);
      const many = Array.from({ length: KEY_LIST_MAX_ROWS + 1 }, (_, i) => ({
        customer_id: i === 0 ? 'A' : `X${i}`,
        event_timestamp: '2026-03-10T00:00:00Z',
      }));
      const pinned = await fixture.trainingSet(many, {
        request: { features: ['latest_score:score'] },
        pins: new Map([['scores', pin]]),
      });
      expect(pinned.records?.[0]?.score).toBe(1);
    });

    it('counts only the pinned rows in a windowed aggregation', async () => {
      const fixture = await offlineFixture([scoreCount], strategy);
      await fixture.ingest('scores', [
        row('A', '2026-03-01T12:00:00Z', 1),
        row('A', '2026-03-02T12:00:00Z', 2),
      ]);
      const pin = await committedNow(fixture.dataDir);
      await fixture.ingest('scores', [row('A', '2026-03-03T12:00:00Z', 3)]);
      const request = { features: ['score_count:score_count_30d'] };
      const pinned = await fixture.trainingSet(asked, {
        request,
        pins: new Map([['scores', pin]]),
      });
      expect((await fixture.trainingSet(asked, { request })).records?.[0]?.score_count_30d).toBe(3);
      expect(pinned.records?.[0]?.score_count_30d).toBe(2);
    });
  },
);

describe('a pinned training set', () => {
  it('gives the old winner after a compaction merged the old and the new ingest into one file', async () => {
    const fixture = await offlineFixture([latestScore]);
    await fixture.ingest('scores', [row('A', '2026-03-05T10:00:00Z', 1)]);
    const pin = await committedNow(fixture.dataDir);
    await fixture.ingest('scores', [row('A', '2026-03-05T11:00:00Z', 2)]);
    const compacted = await compactStore({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      keepReplacedMs: 0,
    });
    expect(compacted.sources[0]?.filesAfter).toBeLessThan(compacted.sources[0]?.filesBefore ?? 0);
    const pinned = await fixture.trainingSet(asked, {
      request: { features: ['latest_score:score'] },
      pins: new Map([['scores', pin]]),
    });
    expect(pinned.records?.[0]?.score).toBe(1);
  });

  it('refuses running totals, which hold the rows above the pin', async () => {
    const fixture = await offlineFixture([scoreCount]);
    await fixture.ingest('scores', [row('A', '2026-03-01T12:00:00Z', 1)]);
    await expect(
      fixture.trainingSet(asked, {
        request: { features: ['score_count:score_count_30d'] },
        pins: new Map([['scores', 1n]]),
        aggregations: 'running-totals',
      }),
    ).rejects.toThrow(/pinned read .* cannot use running totals/);
  });
});
