import { describe, expect, it } from 'vitest';
import type {
  Checkpoint,
  MaterializationState,
} from '../../../lib/materialize/materialization-state.ts';
import { planRun, tileBaseMark } from '../../../lib/materialize/materialize-view.ts';
import type { TileBaseWriter } from '../../../lib/materialize/tile-base-writer.ts';

const tiles: TileBaseWriter = {
  writeEntities: async () => ({ entities: 0, itemsWritten: 0, itemsAlreadyNewer: 0 }),
};
const now = () => Date.parse('2026-03-01T00:00:00Z');
const covered: MaterializationState = {
  watermark: '2026-02-28T23:00:00.000Z',
  ingests: { settledBeforeMs: Date.parse('2026-02-28T22:00:00Z'), ingestIds: [] },
  definition: 'd1',
};
const plan = (state: MaterializationState, withTiles: boolean) =>
  planRun(state, undefined, withTiles ? { tiles } : {}, now, {
    snapshot: [],
    definition: 'd1',
  });
const run = (kind: 'full' | 'incremental', extra: Partial<Checkpoint> = {}): Checkpoint => ({
  runId: 'r',
  startedAt: '2026-03-01T00:00:00.000Z',
  window: { until: '2026-03-01T00:00:00.000Z' },
  backfill: false,
  counts: { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 },
  scope: { kind },
  ...extra,
});

describe('the tile base mark of a tile-fed view (ADR 0020, "Backfill")', () => {
  it('plans a full run of a tile-fed view whose state lacks the mark, and an incremental one once it has it', () => {
    expect(plan(covered, true).scope).toEqual({
      kind: 'full',
      reason: 'the tiles have no base yet',
    });
    expect(plan(covered, true).tiles).toBe(true);
    expect(plan({ ...covered, tileBases: true }, true).scope?.kind).toBe('incremental');
    expect(plan(covered, false).scope?.kind).toBe('incremental');
    expect(plan(covered, false).tiles).toBeUndefined();
  });

  it('plans a full run without commit records too, instead of one by lateness', () => {
    const byLateness = (withTiles: boolean, state: MaterializationState) =>
      planRun(state, undefined, withTiles ? { tiles } : {}, now, {
        snapshot: undefined,
        definition: 'd1',
      }).scope;
    expect(byLateness(true, covered)).toEqual({
      kind: 'full',
      reason: 'the tiles have no base yet',
    });
    expect(byLateness(true, { ...covered, tileBases: true })).toEqual({ kind: 'lateness' });
    expect(byLateness(false, covered)).toEqual({ kind: 'lateness' });
  });

  it('is set by a full run that wrote bases from its first chunk, kept by later tile-fed runs, removed by a run without tiles', () => {
    expect(tileBaseMark({}, run('full', { tiles: true }), true)).toBe(true);
    // Resumed with a tile writer, but begun without one: its first chunks have no base.
    expect(tileBaseMark({}, run('full'), true)).toBeUndefined();
    expect(tileBaseMark({}, run('incremental', { tiles: true }), true)).toBeUndefined();
    expect(tileBaseMark({ tileBases: true }, run('incremental', { tiles: true }), true)).toBe(true);
    expect(tileBaseMark({ tileBases: true }, run('incremental'), false)).toBe(false);
    expect(tileBaseMark({ tileBases: true }, run('full', { tiles: true }), false)).toBe(false);
    expect(tileBaseMark({}, run('full'), false)).toBeUndefined();
    // A backfill range covers no ingest: the mark stays as it is.
    expect(
      tileBaseMark({ tileBases: true }, run('full', { backfill: true }), false),
    ).toBeUndefined();
  });
});
