import { describe, expect, it, vi } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { KEY_LIST_MAX_ROWS } from '../../lib/offline/request-scope.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

// Lets a test turn the latest-row search off (and with it the rows it keeps for the join), so
// the scans of files below run on the same rows.
const narrowing = vi.hoisted(() => ({ enabled: true }));
vi.mock('../../lib/offline/latest-row-days.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/offline/latest-row-days.ts')>();
  return {
    ...original,
    narrowToLatestRowDays: async (...args: Parameters<typeof original.narrowToLatestRowDays>) =>
      narrowing.enabled ? original.narrowToLatestRowDays(...args) : args[3],
  };
});

// Lets a test turn the per-file key sets off, so the one-key-list path runs on the same rows.
const keyedScans = vi.hoisted(() => ({ enabled: true }));
vi.mock('../../lib/offline/keyed-scans.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/offline/keyed-scans.ts')>();
  return {
    ...original,
    keyedSourceRelation: (...args: Parameters<typeof original.keyedSourceRelation>) =>
      keyedScans.enabled ? original.keyedSourceRelation(...args) : undefined,
  };
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
  ttl: '6h',
});
const anyScore = defineFeatureView({
  name: 'any_score',
  entities: [customer],
  source: defineSource({
    name: 'all_scores',
    schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  }),
  features: { score: 'int64' },
});

const day = 86_400_000;
const start = Date.UTC(2026, 2, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const keys = ['A', 'B', 'C', 'D', 'E', 'F'];

/**
 * Rows around midnights of ten days in three ingests (several files a day), some exactly at
 * 00:00:00.000 and 23:59:59.999, i.e. on the first or last row a day file can hold.
 */
function sourceRows(rng: Prng) {
  return Array.from({ length: 3 }, () =>
    Array.from({ length: 40 }, () => {
      const midnight = start + rng.int(1, 10) * day;
      const at = rng.pick([midnight, midnight - 1, midnight + rng.int(-8, 8) * 3_600_000]);
      return { customer_id: rng.pick(keys), event_ts: iso(at), score: rng.int(0, 1000) };
    }),
  );
}

/** Entity rows at midnights and day ends, TTL edges, and keys the store does not hold. */
function entityRows(rng: Prng, count: number) {
  return Array.from({ length: count }, (_, row) => {
    const midnight = start + rng.int(1, 11) * day;
    const at = rng.pick([midnight, midnight - 1, midnight + 6 * 3_600_000, midnight + 3_600_000]);
    return {
      customer_id: rng.chance(0.2) ? `ABSENT-${row}` : rng.pick(keys),
      event_timestamp: iso(at),
      row,
    };
  });
}

describe.each(['asof', 'merge-window'] as const)(
  'a small request gives the same rows by each scan strategy (%s)',
  (strategy) => {
    it.each([1, 2, 3])(
      'the searched rows, per-file key sets, one key list and the full scan agree, with absent keys and rows at day boundaries (seed %i)',
      async (seed) => {
        const rng = new Prng(seed);
        const fixture = await offlineFixture([recentScore, anyScore], strategy);
        for (const batch of sourceRows(rng)) {
          await fixture.ingest('scores', batch);
          await fixture.ingest('all_scores', batch);
        }
        const entities = entityRows(rng, 12);
        const request = {
          request: { features: ['recent_score:score', 'any_score:score'] },
          fullFeatureNames: true,
        };
        const asked = (records: readonly Record<string, unknown>[] | undefined) =>
          (records ?? []).filter((r) => typeof r.row === 'number' && r.row < entities.length);

        const searched = await fixture.trainingSet(entities, request);
        narrowing.enabled = false;
        const keyed = await fixture.trainingSet(entities, request).finally(() => {
          narrowing.enabled = true;
        });
        narrowing.enabled = false;
        keyedScans.enabled = false;
        const oneList = await fixture.trainingSet(entities, request).finally(() => {
          keyedScans.enabled = true;
          narrowing.enabled = true;
        });
        // Padded past KEY_LIST_MAX_ROWS with rows of no stored key: no key filter at all.
        const padding = Array.from({ length: KEY_LIST_MAX_ROWS }, (_, i) => ({
          customer_id: `PAD-${i}`,
          event_timestamp: iso(start + 5 * day),
          row: entities.length + i,
        }));
        const full = await fixture.trainingSet([...entities, ...padding], request);

        expect(searched.sql).toContain('fstore_found_');
        expect(keyed.sql).not.toContain('fstore_found_');
        expect(keyed.sql).toContain('UNION ALL BY NAME');
        expect(oneList.sql).not.toContain('UNION ALL BY NAME');
        expect(oneList.sql).toContain('"customer_id" IN (');
        expect(full.sql).not.toContain('"customer_id" IN (');
        expect(asked(searched.records)).toEqual(asked(full.records));
        expect(asked(keyed.records)).toEqual(asked(full.records));
        expect(asked(oneList.records)).toEqual(asked(full.records));
        // Not vacuous: some rows find a value within the TTL, some find none.
        const found = asked(full.records).map((r) => r.recent_score__score !== null);
        expect(found).toContain(true);
        expect(found).toContain(false);
      },
    );
  },
);
