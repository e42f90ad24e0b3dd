import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import type { PlannedView } from '../../../lib/sql/point-in-time-plan.ts';
import {
  eventsBetween,
  incrementalCandidates,
  newRowsCondition,
} from '../../../lib/sql/render-new-ingests.ts';

const duckdb = duckdbDialect('/data/offline');
const athena = athenaDialect('fstore_dev');
const view: PlannedView = {
  view: 'orders_latest',
  source: 'orders',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
  timestampColumn: 'ordered_at',
  features: [{ feature: 'amount', type: 'float64', sourceType: 'float64', outputName: 'amount' }],
};

let session: DuckdbSession;
beforeAll(async () => {
  session = await openDuckdb();
});
afterAll(() => session.close());

// Rows: (fstore_seq, dt, ordered_at); two rows per day, a second apart around midnight.
const rows = `(VALUES
  (1, '2026-03-01', TIMESTAMP '2026-03-01 23:59:59.999999'),
  (2, '2026-03-02', TIMESTAMP '2026-03-02 00:00:00'),
  (3, '2026-03-02', TIMESTAMP '2026-03-02 00:00:00.000001'),
  (4, '2026-03-03', TIMESTAMP '2026-03-03 12:00:00'),
  (5, '2026-03-03', TIMESTAMP '2026-03-03 12:00:00.000001'),
  (9007199254740993, '2026-03-04', TIMESTAMP '2026-03-04 00:00:00')
) t(fstore_seq, dt, ordered_at)`;

/** The fstore_seq of the rows `condition` keeps, ascending, as text (past 2^53 stays exact). */
const kept = async (condition: string) => {
  const found = await queryRows(
    session.connection,
    `SELECT CAST(fstore_seq AS VARCHAR) AS seq FROM ${rows} WHERE ${condition} ORDER BY fstore_seq`,
  );
  return found.map((r) => r.seq);
};

describe('the rows of new ingests (fstore_seq ranges)', () => {
  it('keeps exactly the rows whose fstore_seq is inside one of the inclusive ranges', async () => {
    const condition = newRowsCondition(duckdb, {
      seqRanges: [
        ['2', '3'],
        ['5', '5'],
      ],
    });
    expect(await kept(condition)).toEqual(['2', '3', '5']);
  });

  it('keeps a sequence number past 2^53 exactly, not its rounded neighbour', async () => {
    const condition = newRowsCondition(duckdb, {
      seqRanges: [['9007199254740993', '9007199254740993']],
    });
    expect(condition).toBe('((fstore_seq = 9007199254740993))');
    expect(await kept(condition)).toEqual(['9007199254740993']);
    expect(
      await kept(
        newRowsCondition(duckdb, { seqRanges: [['9007199254740992', '9007199254740992']] }),
      ),
    ).toEqual([]);
  });

  it('prunes to the listed partitions as well as the ranges', async () => {
    const condition = newRowsCondition(duckdb, {
      seqRanges: [['1', '5']],
      days: ['2026-03-02', '2026-03-03'],
    });
    expect(condition).toBe(
      `("dt" IN ('2026-03-02', '2026-03-03') AND (fstore_seq BETWEEN 1 AND 5))`,
    );
    expect(await kept(condition)).toEqual(['2', '3', '4', '5']);
  });

  it('is FALSE when there are no ranges or the partitions are known to be none', async () => {
    expect(newRowsCondition(duckdb, { seqRanges: [] })).toBe('FALSE');
    expect(newRowsCondition(duckdb, { seqRanges: [['1', '2']], days: [] })).toBe('FALSE');
    expect(await kept(newRowsCondition(duckdb, { seqRanges: [], days: ['2026-03-02'] }))).toEqual(
      [],
    );
  });

  it('refuses a range that is not two decimal sequence numbers in order, naming it', () => {
    const refused = (first: string, last: string) => () =>
      newRowsCondition(athena, {
        seqRanges: [
          ['1', '1'],
          [first, last],
        ],
      });
    expect(refused('3', '2')).toThrow('not an fstore_seq range: 3..2');
    expect(refused('1 OR 1=1', '2')).toThrow('not an fstore_seq range: 1 OR 1=1..2');
    expect(refused('1', '2; DROP TABLE x')).toThrow('not an fstore_seq range: 1..2; DROP TABLE x');
    expect(refused('-1', '2')).toThrow('not an fstore_seq range: -1..2');
    expect(refused('1', '12345678901234567890')).toThrow(
      'not an fstore_seq range: 1..12345678901234567890',
    );
    expect(refused('', '2')).toThrow('not an fstore_seq range: ..2');
    // 19 digits is the widest a BIGINT holds: accepted; equal ends are one sequence number.
    expect(refused('1234567890123456789', '1234567890123456789')).not.toThrow();
    // Compared as numbers, not as text ('10' < '9' as text).
    expect(refused('9', '10')).not.toThrow();
  });
});

const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

describe('rows whose event time came between two runs (after < ts <= until)', () => {
  it('excludes the earlier instant and includes the later one, to the microsecond', async () => {
    const after = micros('2026-03-02T00:00:00Z');
    const until = micros('2026-03-03T12:00:00Z');
    const condition = eventsBetween(view, duckdb, after, until) as string;
    expect(await kept(condition)).toEqual(['3', '4']);
    expect(await kept(eventsBetween(view, duckdb, after - 1n, until + 1n) as string)).toEqual([
      '2',
      '3',
      '4',
      '5',
    ]);
  });

  it('bounds the partitions by the days of both instants', () => {
    const condition = eventsBetween(
      view,
      athena,
      micros('2026-03-01T23:00:00Z'),
      micros('2026-03-03T01:00:00Z'),
    );
    expect(condition).toBe(
      `("ordered_at" > TIMESTAMP '2026-03-01 23:00:00.000000' AND "ordered_at" <= TIMESTAMP '2026-03-03 01:00:00.000000' AND "dt" >= '2026-03-01' AND "dt" <= '2026-03-03')`,
    );
  });

  it('is nothing at all when the interval is empty (until not after after)', () => {
    const t = micros('2026-03-02T00:00:00Z');
    expect(eventsBetween(view, duckdb, t, t)).toBeUndefined();
    expect(eventsBetween(view, duckdb, t + 1n, t)).toBeUndefined();
    expect(eventsBetween(view, duckdb, t - 1n, t)).toBeDefined();
  });
});

describe('the candidates of an incremental passthrough run', () => {
  it('takes the new ingests’ rows of any time, and older ingests’ rows dated after the last run', async () => {
    const condition = incrementalCandidates(view, duckdb, {
      after: '2026-03-03T12:00:00Z',
      newIngests: { seqRanges: [['1', '1']] },
    });
    expect(await kept(condition)).toEqual(['1', '5', '9007199254740993']);
    expect(condition).toContain(`"dt" >= '2026-03-03'`);
  });

  it('takes only the new ingests’ rows on a run with no previous time', async () => {
    const condition = incrementalCandidates(view, duckdb, {
      newIngests: { seqRanges: [['2', '4']] },
    });
    expect(condition).toBe('(((fstore_seq BETWEEN 2 AND 4)))');
    expect(await kept(condition)).toEqual(['2', '3', '4']);
  });

  it('takes nothing when nothing is new and no time has passed', async () => {
    expect(
      await kept(incrementalCandidates(view, duckdb, { newIngests: { seqRanges: [] } })),
    ).toEqual([]);
  });
});
