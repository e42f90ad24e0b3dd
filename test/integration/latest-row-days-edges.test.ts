import { beforeAll, describe, expect, it } from 'vitest';
import { defineFeatureView } from '../../lib/definitions/index.ts';
import { customer, scores } from '../helpers/customer-scores.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

// The latest-row search of a small request (lib/offline/latest-row-days.ts) reads a few day
// files per entity row instead of its whole TTL window. Each case below has one right value only
// if the search reads every file that can hold the winner: a second file of the same day, a file
// whose key statistics the key sits at the edge of, a day at the TTL's end.
const latest = defineFeatureView({
  name: 'latest',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
  ttl: '30d',
});

const at = (day: number, time: string, month = '04') =>
  `2026-${month}-${String(day).padStart(2, '0')}T${time}Z`;

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;
let fixture: Fixture;

beforeAll(async () => {
  fixture = await offlineFixture([latest]);
  // Day 1: K5 and D (D's is its only row).
  await fixture.ingest('scores', [
    { customer_id: 'K5', score: 15, event_ts: at(1, '10:00:00') },
    { customer_id: 'D', score: 1, event_ts: at(1, '10:00:00') },
  ]);
  // Day 3, one file: K1 and K9 are its key statistics' min and max, K5 lies between them and is
  // absent. (No file holds a NULL key: ingest refuses one.)
  await fixture.ingest('scores', [
    { customer_id: 'K1', score: 31, event_ts: at(3, '10:00:00') },
    { customer_id: 'K9', score: 39, event_ts: at(3, '12:00:00') },
  ]);
  // Day 5, two files (two ingests): A at 08:00 in the first, at 11:00 in the second.
  await fixture.ingest('scores', [{ customer_id: 'A', score: 51, event_ts: at(5, '08:00:00') }]);
  await fixture.ingest('scores', [{ customer_id: 'A', score: 52, event_ts: at(5, '11:00:00') }]);
  // Days 8 and 9: B at 10:00 of day 8, at noon and 13:00 of day 9.
  await fixture.ingest('scores', [
    { customer_id: 'B', score: 8, event_ts: at(8, '10:00:00') },
    { customer_id: 'B', score: 9, event_ts: at(9, '12:00:00') },
    { customer_id: 'B', score: 90, event_ts: at(9, '13:00:00') },
  ]);
});

async function scoresOf(rows: readonly { customer_id: string | null; event_timestamp: string }[]) {
  const run = await fixture.trainingSet(rows, { request: { features: ['latest:score'] } });
  return run.records?.map((r) => r.score ?? null);
}

describe('the latest-row search of a small request reads every file that can hold the winner', () => {
  it('reads both files of a day: the later row of the second file wins, on its day and days after', async () => {
    expect(
      await scoresOf([
        { customer_id: 'A', event_timestamp: at(5, '12:00:00') },
        { customer_id: 'A', event_timestamp: at(7, '12:00:00') },
        { customer_id: 'A', event_timestamp: at(5, '09:00:00') },
      ]),
    ).toEqual([52, 52, 51]);
  });

  it('takes a row at the entity time itself, and the day before when every row of the day is later', async () => {
    expect(
      await scoresOf([
        { customer_id: 'B', event_timestamp: at(9, '12:00:00') },
        { customer_id: 'B', event_timestamp: at(9, '11:59:59') },
      ]),
    ).toEqual([9, 8]);
  });

  it('finds keys at the minimum and maximum of a file’s key statistics, and goes past a file whose range holds a key it lacks', async () => {
    expect(
      await scoresOf([
        { customer_id: 'K1', event_timestamp: at(4, '12:00:00') },
        { customer_id: 'K9', event_timestamp: at(4, '12:00:00') },
        { customer_id: 'K5', event_timestamp: at(4, '12:00:00') },
      ]),
    ).toEqual([31, 39, 15]);
  });

  it('finds a row on the first day of the TTL window, 29 days 23 hours back, and none 30 days 1 hour back', async () => {
    expect(
      await scoresOf([
        { customer_id: 'D', event_timestamp: at(1, '09:00:00', '05') },
        { customer_id: 'D', event_timestamp: at(1, '11:00:00', '05') },
      ]),
    ).toEqual([1, null]);
  });

  it('gives NULL to a key no file holds and to a NULL key, and the found value to the rows beside them', async () => {
    expect(
      await scoresOf([
        { customer_id: 'Z', event_timestamp: at(6, '12:00:00') },
        { customer_id: null, event_timestamp: at(6, '12:00:00') },
        { customer_id: 'A', event_timestamp: at(6, '12:00:00') },
      ]),
    ).toEqual([null, null, 52]);
  });
});
