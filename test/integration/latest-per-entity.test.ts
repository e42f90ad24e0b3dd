import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { planPointInTime } from '../../lib/sql/point-in-time-plan.ts';
import { renderLatestPerEntity } from '../../lib/sql/render-latest.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const events = defineSource({
  name: 'events',
  schema: { customer_id: 'string', value: 'int64', event_ts: 'timestamp', created_ts: 'timestamp' },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const view = defineFeatureView({
  name: 'latest',
  entities: [customer],
  source: events,
  features: { value: 'int64' },
});
const iso = (ms: number) => new Date(ms).toISOString();

describe('latest row per entity on DuckDB', () => {
  it('returns, per key, the winner among rows inside (after, until]', async () => {
    const rng = new Prng(11);
    const base = Date.UTC(2026, 0, 1);
    const rows = Array.from({ length: 400 }, (_, seq) => {
      const event = base + rng.int(0, 72) * 3_600_000;
      return {
        seq,
        customer_id: `C${rng.int(1, 30)}`,
        value: rng.int(0, 1000),
        event_ts: event,
        created_ts: event + rng.int(0, 2) * 60_000,
      };
    });
    const fixture = await offlineFixture([view]);
    await fixture.ingest(
      'events',
      rows.map((r) => ({
        customer_id: r.customer_id,
        value: r.value,
        event_ts: iso(r.event_ts),
        created_ts: iso(r.created_ts),
      })),
    );
    const after = base + 24 * 3_600_000;
    const until = base + 48 * 3_600_000;

    const expected = new Map<string, (typeof rows)[number]>();
    for (const row of rows) {
      if (row.event_ts <= after || row.event_ts > until) continue;
      const best = expected.get(row.customer_id);
      const better =
        !best ||
        row.event_ts > best.event_ts ||
        (row.event_ts === best.event_ts &&
          (row.created_ts > best.created_ts ||
            (row.created_ts === best.created_ts && row.seq > best.seq)));
      if (better) expected.set(row.customer_id, row);
    }

    const plan = planPointInTime(
      fixture.registry,
      { features: ['latest:value'] },
      { entityTimestampColumn: 'ts' },
    );
    const planned = plan.views[0];
    if (!planned) throw new Error('no view planned');
    const sql = renderLatestPerEntity(
      planned,
      duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
      { after: iso(after), until: iso(until) },
    );
    const session = await openDuckdb();
    const actual = await queryRows(session.connection, `${sql} ORDER BY customer_id`);
    session.close();
    expect(actual.map((r) => [r.customer_id, r.value])).toEqual(
      [...expected.values()]
        .sort((a, b) => (a.customer_id < b.customer_id ? -1 : 1))
        .map((r) => [r.customer_id, r.value]),
    );
  });
});
