import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { KEY_LIST_MAX_ROWS, withCommittedFiles } from '../../lib/offline/request-scope.ts';
import { sortedCopiesForRequest } from '../../lib/offline/sorted-copy-scope.ts';
import { planPointInTime } from '../../lib/sql/point-in-time-plan.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const scores = defineSource({
  name: 'scores',
  schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const latestScore = defineFeatureView({
  name: 'latest_score',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
});

const rows = (count: number, from: number) =>
  Array.from({ length: count }, (_, i) => ({
    customer_id: `C${i % 50}`,
    score: from + i,
    event_ts: new Date(Date.parse('2026-01-01T00:00:00Z') + i * 3_600_000).toISOString(),
  }));

describe('the sorted copy a request reads', () => {
  it('has the tail of the manifest read the rest of the request uses: an ingest committed since is not read', async () => {
    const fixture = await offlineFixture([customer, scores, latestScore]);
    await fixture.ingest('scores', rows(2_000, 0));
    const root = offlineRoot(fixture.dataDir, 'local');
    const plan = planPointInTime(
      fixture.registry,
      { features: ['latest_score:score'] },
      { entityTimestampColumn: 'event_timestamp' },
    );
    // The request read the manifest (the unique key times its SQL relies on come from it) ...
    const scope = withCommittedFiles(root, plan, { sourceDays: new Map() });
    // ... and an ingest of rows tying stored ones commits before the copy is chosen.
    const later = await fixture.ingest('scores', rows(10, 1_000_000));
    expect(later.sortedCopyWritten).toBe(false);

    const session = await openDuckdb();
    try {
      const copies = await sortedCopiesForRequest(
        session.connection,
        root,
        plan,
        scope,
        // Only the row count matters here: the copy chosen, and its tail.
        { table: "(SELECT 'C1' AS customer_id)", rows: KEY_LIST_MAX_ROWS + 1 },
      );
      const copy = copies.get('scores');
      expect(copy).toBeDefined();
      expect(copy?.tail).toEqual([]);
    } finally {
      session.close();
    }
  });
});
