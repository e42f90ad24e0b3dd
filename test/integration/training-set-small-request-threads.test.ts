import { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineFeatureView } from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { SINGLE_THREAD_MAX_ROWS } from '../../lib/offline/small-request.ts';
import { customer, scores } from '../helpers/customer-scores.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const latest = defineFeatureView({
  name: 'latest',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
  ttl: '30d',
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** DuckDB's `threads` setting as each statement reading the offline store's files starts. */
function threadsWhileReadingFiles(): number[] {
  const seen: number[] = [];
  const observe = (original: (sql: string, ...rest: never[]) => Promise<unknown>) =>
    async function (this: DuckDBConnection, sql: string, ...rest: never[]) {
      if (sql.includes('read_parquet(') && !sql.includes('current_setting')) {
        const reader = await this.runAndReadAll("SELECT current_setting('threads') AS t");
        seen.push(Number(reader.getRows()[0]?.[0]));
      }
      return original.call(this, sql, ...rest);
    };
  const run = DuckDBConnection.prototype.run;
  const runAndReadAll = DuckDBConnection.prototype.runAndReadAll;
  vi.spyOn(DuckDBConnection.prototype, 'run').mockImplementation(observe(run as never) as never);
  vi.spyOn(DuckDBConnection.prototype, 'runAndReadAll').mockImplementation(
    observe(runAndReadAll as never) as never,
  );
  return seen;
}

const entityRows = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    customer_id: i % 2 === 0 ? 'A' : 'B',
    event_timestamp: '2026-03-05T12:00:00Z',
  }));

describe('a small training set runs DuckDB on one thread', () => {
  it(`reads the store on one thread for up to ${SINGLE_THREAD_MAX_ROWS} entity rows, with the same values`, async () => {
    const fixture = await offlineFixture([latest]);
    await fixture.ingest('scores', [
      { customer_id: 'A', score: 1, event_ts: '2026-03-01T10:00:00Z' },
      { customer_id: 'B', score: 2, event_ts: '2026-03-04T10:00:00Z' },
    ]);
    const threads = threadsWhileReadingFiles();
    const result = await fixture.trainingSet(entityRows(SINGLE_THREAD_MAX_ROWS), {
      request: { features: ['latest:score'] },
    });
    expect(result.records?.slice(0, 2).map((r) => r.score)).toEqual([1, 2]);
    expect(threads.length).toBeGreaterThan(0);
    expect(new Set(threads)).toEqual(new Set([1]));
  });

  it('leaves a larger request on every thread DuckDB has', async () => {
    const fixture = await offlineFixture([latest]);
    await fixture.ingest('scores', [
      { customer_id: 'A', score: 1, event_ts: '2026-03-01T10:00:00Z' },
    ]);
    const threads = threadsWhileReadingFiles();
    await fixture.trainingSet(entityRows(SINGLE_THREAD_MAX_ROWS + 1), {
      request: { features: ['latest:score'] },
    });
    expect(threads.length).toBeGreaterThan(0);
    expect(new Set(threads)).toEqual(new Set([await defaultThreads()]));
  });
});

/** DuckDB's own default (one per core). */
async function defaultThreads(): Promise<number> {
  const session = await openDuckdb();
  try {
    const [row] = await queryRows(session.connection, "SELECT current_setting('threads') AS t");
    return Number(row?.t);
  } finally {
    session.close();
  }
}
