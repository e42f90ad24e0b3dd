import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import type { TrainingSetPhase } from '../../lib/offline/training-set.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

// No on-demand view: the JS function the join calls is the match tally alone, as in any big
// training set (the CLI test covers a slow on-demand transform).
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
  ttl: '30d',
});

const entities = Array.from({ length: 20_000 }, (_, row) => ({
  customer_id: `c${row % 50}`,
  event_timestamp: '2026-03-10T00:00:00Z',
}));

let fixture: Awaited<ReturnType<typeof offlineFixture>>;
beforeAll(async () => {
  fixture = await offlineFixture([customer, scores, scoreView]);
  await fixture.ingest(
    'scores',
    Array.from({ length: 50 }, (_, k) => ({
      customer_id: `c${k}`,
      score: k,
      event_ts: '2026-03-01T00:00:00Z',
    })),
  );
}, 60_000);

/** A training set to a file, aborted (with `reason`) when it reaches `phase`. */
async function stoppedAt(phase: TrainingSetPhase, reason: Error) {
  const out = path.join(await makeTempDir('stopped-training-set'), 'train.parquet');
  const controller = new AbortController();
  const result = fixture.trainingSet(entities, {
    request: { features: ['score_view:score'] },
    out,
    signal: controller.signal,
    onPhase: (reached) => {
      if (reached === phase) controller.abort(reason);
    },
  });
  return { result, out };
}

describe('getTrainingSet stopped by its AbortSignal', () => {
  it('rejects with the signal’s reason when stopped as the join starts, and leaves no result file', async () => {
    const reason = new Error('stop requested');
    const { result, out } = await stoppedAt('joining', reason);
    await expect(result).rejects.toBe(reason);
    expect(existsSync(out)).toBe(false);
  });

  it('rejects with the signal’s reason when stopped while loading entities, before any join', async () => {
    const reason = new Error('stop requested');
    const { result, out } = await stoppedAt('loading entities', reason);
    await expect(result).rejects.toBe(reason);
    expect(existsSync(out)).toBe(false);
  });

  it('does not start when its signal is already aborted', async () => {
    const reason = new Error('stopped before');
    await expect(
      fixture.trainingSet(entities, {
        request: { features: ['score_view:score'] },
        signal: AbortSignal.abort(reason),
      }),
    ).rejects.toBe(reason);
  });

  it('builds the same training set as without a signal while the signal is not aborted', async () => {
    const result = await fixture.trainingSet(entities, {
      request: { features: ['score_view:score'] },
      signal: new AbortController().signal,
    });
    expect(result.rows).toBe(entities.length);
    expect(result.matchRates).toEqual([{ view: 'score_view', matched: 20_000, rate: 1 }]);
  });
});
