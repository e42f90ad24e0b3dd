import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { KEY_LIST_MAX_ROWS } from '../../lib/offline/request-scope.ts';
import { getTrainingSet } from '../../lib/offline/training-set.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

// Lets a test turn the latest-row search off: the join then names the files it reads, which is
// what the day pruning below is checked on (with it, the join reads the rows the search kept).
const narrowing = vi.hoisted(() => ({ enabled: true }));
vi.mock('../../lib/offline/latest-row-days.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/offline/latest-row-days.ts')>();
  return {
    ...original,
    narrowToLatestRowDays: async (...args: Parameters<typeof original.narrowToLatestRowDays>) =>
      narrowing.enabled ? original.narrowToLatestRowDays(...args) : args[3],
  };
});
afterEach(() => {
  narrowing.enabled = true;
});

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const scores = defineSource({
  name: 'scores',
  schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const recentScore = defineFeatureView({
  name: 'recent_score',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
  ttl: '2h',
});

const row = (customer_id: string, event_ts: string, score: number) => ({
  customer_id,
  event_ts,
  score,
});
/** The `dt=` folders a training set's SQL names, sorted. */
const partitionsRead = (sql: string) =>
  [...new Set([...sql.matchAll(/dt=(\d{4}-\d{2}-\d{2})\//g)].map((m) => m[1]))].sort();

describe.each(['asof', 'merge-window'] as const)(
  'a training set reads only what its entity rows can reach (%s strategy)',
  (strategy) => {
    it('names only the day partitions the rows reach, the day before midnight included, and filters by the keys asked for', async () => {
      narrowing.enabled = false;
      const fixture = await offlineFixture([recentScore], strategy);
      await fixture.ingest('scores', [
        row('A', '2026-03-01T23:30:00Z', 1),
        row('B', '2026-03-02T00:10:00Z', 2),
        row('A', '2026-03-04T12:00:00Z', 4),
        row('A', '2026-03-06T12:00:00Z', 6),
      ]);
      const result = await fixture.trainingSet(
        [{ customer_id: 'A', event_timestamp: '2026-03-02T01:00:00Z' }],
        { request: { features: ['recent_score:score'] } },
      );
      expect(result.records?.map((r) => r.score)).toEqual([1]);
      expect(partitionsRead(result.sql)).toEqual(['2026-03-01', '2026-03-02']);
      expect(result.sql).toContain(`"customer_id" IN (CAST('A' AS VARCHAR))`);
      expect(result.sql).not.toContain("CAST('B' AS VARCHAR)");
    });

    it('gives each row its own window: a day between two rows is not read', async () => {
      narrowing.enabled = false;
      const fixture = await offlineFixture([recentScore], strategy);
      await fixture.ingest('scores', [
        row('A', '2026-03-01T11:00:00Z', 1),
        row('A', '2026-03-03T11:00:00Z', 3),
        row('A', '2026-03-05T11:00:00Z', 5),
      ]);
      await fixture.ingest('scores', [row('A', '2026-03-05T11:30:00Z', 55)]);
      const result = await fixture.trainingSet(
        [
          { customer_id: 'A', event_timestamp: '2026-03-01T12:00:00Z' },
          { customer_id: 'A', event_timestamp: '2026-03-05T12:00:00Z' },
        ],
        { request: { features: ['recent_score:score'] } },
      );
      expect(result.records?.map((r) => r.score)).toEqual([1, 55]);
      expect(partitionsRead(result.sql)).toEqual(['2026-03-01', '2026-03-05']);
    });

    it('joins the rows the latest-row search read, naming no day file but the newest ingest’s (for its columns)', async () => {
      const fixture = await offlineFixture([recentScore], strategy);
      await fixture.ingest('scores', [
        row('A', '2026-03-01T11:00:00Z', 1),
        row('A', '2026-03-03T11:00:00Z', 3),
        row('B', '2026-03-05T11:00:00Z', 5),
      ]);
      await fixture.ingest('scores', [row('A', '2026-03-05T11:30:00Z', 55)]);
      const result = await fixture.trainingSet(
        [
          { customer_id: 'A', event_timestamp: '2026-03-01T12:00:00Z' },
          { customer_id: 'A', event_timestamp: '2026-03-05T12:00:00Z' },
          { customer_id: 'B', event_timestamp: '2026-03-05T12:00:00Z' },
          { customer_id: 'C', event_timestamp: '2026-03-05T12:00:00Z' },
        ],
        { request: { features: ['recent_score:score'] } },
      );
      expect(result.records?.map((r) => r.score)).toEqual([1, 55, 5, null]);
      expect(result.sql).toContain('fstore_found_');
      // The newest ingest's first file, read for its columns only.
      expect(partitionsRead(result.sql)).toEqual(['2026-03-05']);
      expect(result.sql).toContain('WHERE FALSE');
    });

    it(`has no key list above ${KEY_LIST_MAX_ROWS} entity rows, where most keys are asked for anyway`, async () => {
      const fixture = await offlineFixture([recentScore], strategy);
      await fixture.ingest('scores', [row('A', '2026-03-01T11:00:00Z', 1)]);
      const entities = Array.from({ length: KEY_LIST_MAX_ROWS + 1 }, (_, i) => ({
        customer_id: i === 0 ? 'A' : `K${i}`,
        event_timestamp: '2026-03-01T12:00:00Z',
      }));
      const result = await fixture.trainingSet(entities, {
        request: { features: ['recent_score:score'] },
      });
      expect(result.records?.[0]?.score).toBe(1);
      expect(result.sql).not.toContain('"customer_id" IN (');
    });

    it('asks for no rows when every key of the request is empty', async () => {
      const fixture = await offlineFixture([recentScore], strategy);
      await fixture.ingest('scores', [row('A', '2026-03-01T11:00:00Z', 1)]);
      const result = await fixture.trainingSet(
        [{ customer_id: null, event_timestamp: '2026-03-01T12:00:00Z' }],
        { request: { features: ['recent_score:score'] } },
      );
      expect(result.records?.map((r) => r.score)).toEqual([null]);
    });

    it('reads a column the source gained after the files the request reaches were written', async () => {
      const before = await offlineFixture([recentScore], strategy);
      await before.ingest('scores', [row('A', '2026-03-01T11:00:00Z', 1)]);
      const widened = defineSource({
        name: 'scores',
        schema: { customer_id: 'string', score: 'int64', grade: 'string', event_ts: 'timestamp' },
        timestampField: 'event_ts',
      });
      const graded = defineFeatureView({
        name: 'recent_score',
        entities: [customer],
        source: widened,
        features: { score: 'int64', grade: 'string' },
        ttl: '2h',
      });
      const registry = compileRegistry([{ definition: graded }]);
      const local = { registry, dataDir: before.dataDir, env: 'local' };
      await ingestFile({
        ...local,
        source: 'scores',
        file: await before.writeJsonl([{ ...row('A', '2026-03-09T11:00:00Z', 9), grade: 'b' }]),
      });
      const result = await getTrainingSet({
        ...local,
        strategy,
        entities: await before.writeJsonl([
          { customer_id: 'A', event_timestamp: '2026-03-01T12:00:00Z' },
        ]),
        request: { features: ['recent_score:score', 'recent_score:grade'] },
      });
      expect(result.records?.map((r) => [r.score, r.grade])).toEqual([[1, null]]);
    });
  },
);
