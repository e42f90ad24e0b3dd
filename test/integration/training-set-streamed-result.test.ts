import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import type { PointInTimeStrategy } from '../../lib/sql/render-training-set.ts';
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
const scoreView = defineFeatureView({
  name: 'score_view',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
  ttl: '2d',
});

const DAY = 86_400_000;
const base = Date.parse('2026-03-01T00:00:00Z');
const keys = 50;
const entityRows = 12_000;

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/**
 * Every key has a row each 3 days at noon (every fifth with a NULL score); entity rows at random
 * times over 40 days, in no order. With a 2-day TTL some rows find a row and some do not, and a
 * row matched to a NULL score counts as matched.
 */
function data() {
  const next = random(16);
  const source: { customer_id: string; score: number | null; event_ts: string }[] = [];
  for (let k = 0; k < keys; k++)
    for (let day = 1; day < 40; day += 3)
      source.push({
        customer_id: `c${k}`,
        score: (k + day) % 5 === 0 ? null : k * 1000 + day,
        event_ts: new Date(base + day * DAY + DAY / 2).toISOString(),
      });
  const entities = Array.from({ length: entityRows }, (_, row) => ({
    customer_id: `c${Math.floor(next() * keys)}`,
    event_timestamp: new Date(base + Math.floor(next() * 40 * DAY)).toISOString(),
    label: row,
  }));
  const expected = entities.map((e) => {
    const t = Date.parse(e.event_timestamp);
    const winner = source
      .filter((s) => s.customer_id === e.customer_id)
      .map((s) => ({ ...s, at: Date.parse(s.event_ts) }))
      .filter((s) => s.at <= t && s.at >= t - 2 * DAY)
      .sort((a, b) => b.at - a.at)[0];
    return { label: e.label, score: winner ? winner.score : null, matched: winner !== undefined };
  });
  return { source, entities, expected };
}

describe.each<PointInTimeStrategy>(['asof', 'merge-window'])(
  'a training set of many entity rows, streamed to its file with the match counts taken on the way (%s)',
  (strategy) => {
    it('writes every row once, in entity file order, and counts the rows each view matched (NULL winners included)', async () => {
      const { source, entities, expected } = data();
      const matched = expected.filter((e) => e.matched).length;
      expect(matched).toBeGreaterThan(entityRows / 4);
      expect(matched).toBeLessThan(entityRows);
      const fixture = await offlineFixture([scores, scoreView], strategy);
      await fixture.ingest('scores', source);
      const out = path.join(fixture.dataDir, 'result.parquet');
      const result = await fixture.trainingSet(entities, {
        request: { features: ['score_view:score'] },
        out,
      });
      expect(result.matchRates).toEqual([
        { view: 'score_view', matched, rate: matched / entityRows },
      ]);
      const session = await openDuckdb();
      try {
        const written = await queryRows(
          session.connection,
          `SELECT label, score FROM read_parquet('${out}')`,
        );
        expect(written).toEqual(expected.map(({ label, score }) => ({ label, score })));
      } finally {
        session.close();
      }
      const returned = await fixture.trainingSet(entities, {
        request: { features: ['score_view:score'] },
      });
      expect(returned.matchRates[0]?.matched).toBe(matched);
      expect(returned.records?.map((r) => [r.label, r.score])).toEqual(
        expected.map((e) => [e.label, e.score]),
      );
    });
  },
);
