import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { formatMicros, sqlTimestampText } from '../../lib/epoch-micros.ts';
import type { PointInTimeStrategy } from '../../lib/sql/render-training-set.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const events = defineSource({
  name: 'events',
  schema: {
    customer_id: 'string',
    value: 'int64',
    label: 'string',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const plain = defineSource({
  name: 'plain',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const recent = defineFeatureView({
  name: 'recent',
  entities: [customer],
  source: events,
  features: { value: 'int64', label: 'string' },
  ttl: '2h',
});
const amounts = defineFeatureView({
  name: 'amounts',
  entities: [customer],
  source: plain,
  features: { amount: 'float64' },
});

interface SourceRow {
  customer_id: string;
  event_ts: number;
  created_ts?: number | null;
  seq: number;
  values: Record<string, unknown>;
}

// Times in epoch microseconds (safe integers until year 2255), so rows can differ by 1µs.
const base = Date.UTC(2026, 0, 1) * 1000;
const minute = 60_000_000;
const iso = (micros: number) => formatMicros(BigInt(micros));
/** DuckDB's text of a TIMESTAMP: trailing fractional zeros (and a bare dot) dropped. */
const sqlTime = (micros: number) => sqlTimestampText(BigInt(micros)).replace(/\.?0+$/, '');

/** Section 3 of DESIGN.md, written as plainly as possible. */
function reference(
  rows: readonly SourceRow[],
  key: string,
  t: number,
  ttlMicros: number | undefined,
): Record<string, unknown> | undefined {
  const candidates = rows.filter(
    (r) =>
      r.customer_id === key &&
      r.event_ts <= t &&
      (ttlMicros === undefined || r.event_ts >= t - ttlMicros),
  );
  let winner: SourceRow | undefined;
  for (const row of candidates) {
    if (!winner) winner = row;
    else if (row.event_ts !== winner.event_ts)
      winner = row.event_ts > winner.event_ts ? row : winner;
    else if ((row.created_ts ?? -1) !== (winner.created_ts ?? -1))
      winner = (row.created_ts ?? -1) > (winner.created_ts ?? -1) ? row : winner;
    else winner = row.seq > winner.seq ? row : winner;
  }
  return winner?.values;
}

interface Shape {
  /** 0: times fall in the 10 hours after `base`; else within 3 h of one of this many midnights. */
  readonly midnights: number;
  readonly entityRows: number;
  /** Each source row its own random microsecond: no two rows of a key share a time (no ties). */
  readonly uniqueTimes?: boolean;
}

const oneMorning: Shape = { midnights: 0, entityRows: 150 };

async function runScenario(seed: number, strategy: PointInTimeStrategy, shape = oneMorning) {
  const rng = new Prng(seed);
  const keys = Array.from({ length: 12 }, (_, i) => `C${i}`);
  // A few random sub-minute offsets (down to the microsecond) shared by all rows: times differ
  // by microseconds yet still tie, and TTL edges (whole minutes) are hit to the microsecond.
  const offsets = [0, 1, ...Array.from({ length: 4 }, () => rng.int(0, minute - 1))];
  const time = (unique = false) =>
    base +
    (shape.midnights === 0
      ? rng.int(0, 600) * minute
      : rng.int(1, shape.midnights) * 24 * 60 * minute + rng.int(-180, 180) * minute) +
    (unique ? rng.int(0, minute - 1) : rng.pick(offsets));
  const sourceTime = () => time(shape.uniqueTimes);
  const fixture = await offlineFixture([recent, amounts], strategy);
  const eventRows: SourceRow[] = [];
  const plainRows: SourceRow[] = [];
  let seq = 0;
  for (let batch = 0; batch < 3; batch++) {
    const eventBatch: SourceRow[] = Array.from({ length: rng.int(20, 60) }, () => {
      const event = sourceTime();
      return {
        customer_id: rng.pick(keys),
        event_ts: event,
        created_ts: rng.chance(0.2) ? null : event + rng.int(0, 3) * minute,
        seq: seq++,
        values: {
          value: rng.chance(0.1) ? null : rng.int(-50, 50),
          label: rng.chance(0.1) ? null : rng.pick(['a', 'b', 'c']),
        },
      };
    });
    const plainBatch: SourceRow[] = Array.from({ length: rng.int(10, 40) }, () => ({
      customer_id: rng.pick(keys),
      event_ts: sourceTime(),
      seq: seq++,
      values: { amount: rng.chance(0.1) ? null : rng.int(0, 10_000) / 100 },
    }));
    await fixture.ingest(
      'events',
      eventBatch.map((r) => ({
        customer_id: r.customer_id,
        event_ts: iso(r.event_ts),
        created_ts: r.created_ts === null || r.created_ts === undefined ? null : iso(r.created_ts),
        ...r.values,
      })),
    );
    await fixture.ingest(
      'plain',
      plainBatch.map((r) => ({
        customer_id: r.customer_id,
        event_ts: iso(r.event_ts),
        ...r.values,
      })),
    );
    eventRows.push(...eventBatch);
    plainRows.push(...plainBatch);
  }
  const sourceRows = [...eventRows, ...plainRows];
  const entities = Array.from({ length: shape.entityRows }, (_, row) => {
    if (rng.chance(0.4)) {
      // At a source row's time or its TTL edge, or 1µs to either side of them.
      const near = rng.pick(sourceRows);
      const edge = rng.chance(0.5) ? 0 : 2 * 60 * minute;
      return {
        customer_id: near.customer_id,
        event_timestamp: near.event_ts + edge + rng.pick([-1, 0, 1]),
        row,
      };
    }
    return {
      customer_id: rng.chance(0.05) ? 'UNKNOWN' : rng.pick(keys),
      event_timestamp: time() + (rng.chance(0.3) ? 0 : rng.int(0, minute - 1)),
      row,
    };
  });
  const result = await fixture.trainingSet(
    entities.map((e) => ({ ...e, event_timestamp: iso(e.event_timestamp) })),
    { request: { features: ['recent:value', 'recent:label', 'amounts:amount'] } },
  );
  const expected = entities.map((e) => {
    const r = reference(eventRows, e.customer_id, e.event_timestamp, 2 * 60 * minute);
    const a = reference(plainRows, e.customer_id, e.event_timestamp, undefined);
    return {
      customer_id: e.customer_id,
      event_timestamp: sqlTime(e.event_timestamp),
      row: e.row,
      value: r?.value ?? null,
      label: r?.label ?? null,
      amount: a?.amount ?? null,
    };
  });
  return { actual: result.records, expected, sql: result.sql };
}

describe.each(['asof', 'merge-window'] as const)(
  'point-in-time join (%s strategy) against a brute-force reference',
  (strategy) => {
    it.each([1, 2, 3, 4, 5, 6])(
      'agrees on random data with ties, NULLs, TTL and several ingests (seed %i)',
      async (seed) => {
        const { actual, expected } = await runScenario(seed, strategy);
        expect(actual).toEqual(expected);
      },
    );
    // Around three weeks of midnights, TTL windows cross days, and a request reads only the
    // day partitions its rows reach (and, when small, only its keys' rows): pruning must keep
    // every candidate.
    it.each([7, 8, 9, 10])(
      'agrees over three weeks of day partitions, with 150 entity rows (seed %i)',
      async (seed) => {
        const { actual, expected } = await runScenario(seed, strategy, {
          midnights: 21,
          entityRows: 150,
        });
        expect(actual).toEqual(expected);
      },
    );
    // Without ties, DuckDB's join compares event times alone; the values must not change.
    it.each([17, 18, 19, 20])(
      'agrees on random data without ties over several ingests (seed %i)',
      async (seed) => {
        const { actual, expected, sql } = await runScenario(seed, strategy, {
          midnights: 21,
          entityRows: 150,
          uniqueTimes: true,
        });
        expect(actual).toEqual(expected);
        if (strategy === 'asof') expect(sql).not.toContain('fstore_pos');
      },
    );
    it.each([11, 12, 13, 14, 15, 16])(
      'agrees for a small request of 6 entity rows over three weeks (seed %i)',
      async (seed) => {
        const { actual, expected } = await runScenario(seed, strategy, {
          midnights: 21,
          entityRows: 6,
        });
        expect(actual).toEqual(expected);
      },
    );
  },
);
