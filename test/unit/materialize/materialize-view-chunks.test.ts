import { describe, expect, it } from 'vitest';
import type { RunCounts } from '../../../lib/materialize/materialization-state.ts';
import {
  type MaterializeViewOptions,
  materializeView,
} from '../../../lib/materialize/materialize-view.ts';
import { lookupFeatures } from '../../../lib/online/online-lookup.ts';
import type { Registry } from '../../../lib/registry/index.ts';
import { useDynaliteTables } from '../../helpers/dynalite-tables.ts';
import {
  arraySource,
  memoryQuarantine,
  profileRegistry,
  stateOf,
} from '../../helpers/materialize-harness.ts';

const dynalite = useDynaliteTables('chunks');
const { newTable } = dynalite;

const day = 86_400_000;
const t0 = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** C1..C5, the later customers with later events; C5's is the newest. */
const fiveRows = [1, 2, 3, 4, 5].map((i) => ({
  customer_id: `C${i}`,
  score: i * 10,
  tier: i % 2 === 0 ? null : 'gold',
  event_ts: iso(t0 - (6 - i) * day),
}));

function run(
  registry: Registry,
  table: string,
  at: number,
  extra: Partial<MaterializeViewOptions> = {},
) {
  return materializeView({
    registry,
    view: 'profile',
    client: dynalite.client,
    table,
    source: arraySource(fiveRows),
    quarantine: memoryQuarantine().sink,
    owner: `owner-${at}`,
    now: () => at,
    ...extra,
  });
}

async function servedScores(registry: Registry, table: string, ids: string[]) {
  const results = await lookupFeatures(
    dynalite.client,
    table,
    registry,
    {
      views: [{ view: 'profile', features: [{ feature: 'score', outputName: 'score' }] }],
      entities: ids.map((id) => ({ customer_id: id })),
    },
    { now: () => t0 },
  );
  return results.map((r) => r.score?.value);
}

describe('a run in chunks', () => {
  it('checkpoints after every chunk and reports the counts so far', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const progress: RunCounts[] = [];
    const checkpoints: unknown[] = [];
    const result = await run(registry, table, t0, {
      chunkRows: 2,
      source: arraySource(fiveRows, { batch: 3 }),
      onProgress: async (counts) => {
        progress.push(counts);
        checkpoints.push((await stateOf(dynalite.client, table, registry)).checkpoint?.afterKey);
      },
    });
    expect(progress.map((c) => c.rowsRead)).toEqual([2, 4, 5]);
    expect(progress.map((c) => c.written)).toEqual([2, 4, 5]);
    expect(result.counts).toEqual({ rowsRead: 5, written: 5, skippedAsOlder: 0, rejected: 0 });
    expect(await servedScores(registry, table, ['C1', 'C3', 'C5'])).toEqual([10, 30, 50]);
    expect(result.newestEventTs).toBe('2026-02-28T00:00:00.000000Z');
  });

  it('stops at a checkpoint when asked to pause, and a later run resumes after the last key written', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    let pause = false;
    const paused = await run(registry, table, t0, {
      chunkRows: 2,
      onProgress: () => {
        pause = true;
      },
      shouldPause: () => pause,
    });
    expect(paused.status).toBe('paused');
    expect(paused.resumeAfter).toEqual(['C2']);
    expect(paused.counts).toEqual({ rowsRead: 2, written: 2, skippedAsOlder: 0, rejected: 0 });
    expect(paused).not.toHaveProperty('watermark');
    expect(paused.newestEventTs).toBe('2026-02-25T00:00:00.000000Z');
    const state = await stateOf(dynalite.client, table, registry);
    expect(state.lease).toBeUndefined();
    expect(state.watermark).toBeUndefined();
    expect(state.lastRun?.status).toBe('paused');
    expect(state.checkpoint?.afterKey).toEqual(['C2']);
    expect(await servedScores(registry, table, ['C2', 'C3'])).toEqual([20, null]);

    const source = arraySource(fiveRows, { count: true });
    const starts: unknown[] = [];
    const resumed = await run(registry, table, t0 + 1000, {
      chunkRows: 2,
      source,
      onStart: (info) => starts.push(info),
    });
    expect(source.queries[0]?.afterKey).toEqual(['C2']);
    expect(source.queries[0]?.window).toEqual({ until: iso(t0) });
    expect(starts).toEqual([
      { window: { until: iso(t0) }, resumed: true, alreadyRead: 2, total: 3 },
    ]);
    expect(resumed).toMatchObject({
      status: 'succeeded',
      resumed: true,
      runId: paused.runId,
      counts: { rowsRead: 5, written: 5, skippedAsOlder: 0, rejected: 0 },
      watermark: iso(t0),
    });
    expect(resumed).not.toHaveProperty('resumeAfter');
    expect(await servedScores(registry, table, ['C3', 'C5'])).toEqual([30, 50]);
  });

  it('pauses before writing a last short chunk when asked, keeping its rows for the next run', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    let pause = false;
    const result = await run(registry, table, t0, {
      chunkRows: 4,
      onProgress: () => {
        pause = true;
      },
      shouldPause: () => pause,
    });
    expect(result.status).toBe('paused');
    expect(result.counts.rowsRead).toBe(4);
    expect(await servedScores(registry, table, ['C5'])).toEqual([null]);
  });

  it('finishes when asked to pause only after its last row is written', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    let pause = false;
    const result = await run(registry, table, t0, {
      chunkRows: 5,
      onProgress: () => {
        pause = true;
      },
      shouldPause: () => pause,
    });
    expect(result.status).toBe('succeeded');
  });

  it('stops on a stop request before reading on, giving its lease back', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const stop = new AbortController();
    stop.abort();
    const result = await run(registry, table, t0, { signal: stop.signal });
    expect(result.status).toBe('paused');
    expect(result.counts.rowsRead).toBe(0);
    expect(result).not.toHaveProperty('resumeAfter');
    expect((await stateOf(dynalite.client, table, registry)).lease).toBeUndefined();
  });

  it('tells where it starts: the window, whether it resumes and, when the source can count, how many rows', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const starts: unknown[] = [];
    await run(registry, table, t0, {
      source: arraySource(fiveRows, { count: true }),
      onStart: (info) => starts.push(info),
    });
    await run(registry, table, t0 + 1, { onStart: (info) => starts.push(info) });
    expect(starts).toEqual([
      { window: { until: iso(t0) }, resumed: false, alreadyRead: 0, total: 5 },
      {
        window: { after: '2026-02-28T23:00:00.000000Z', until: iso(t0 + 1) },
        resumed: false,
        alreadyRead: 0,
      },
    ]);
  });

  it('records a failed run and gives its lease back when the source fails, keeping the last checkpoint', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    await expect(
      run(registry, table, t0, {
        chunkRows: 2,
        source: arraySource(fiveRows, { batch: 2, failAfter: 4 }),
      }),
    ).rejects.toThrow('engine failed mid-stream');
    const state = await stateOf(dynalite.client, table, registry);
    expect(state.lease).toBeUndefined();
    expect(state.lastRun).toMatchObject({ status: 'failed', error: 'engine failed mid-stream' });
    expect(state.lastRun?.counts.rowsRead).toBe(4);
    expect(state.checkpoint?.afterKey).toEqual(['C4']);
    expect(state.watermark).toBeUndefined();
  });
});

describe('rows that break the view constraints', () => {
  const outOfRange = { customer_id: 'C9', score: 500, tier: 'gold', event_ts: iso(t0 - day) };

  it('are quarantined with their reasons, counted and not written; the rest is', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const quarantine = memoryQuarantine();
    const result = await run(registry, table, t0, {
      quarantine: quarantine.sink,
      source: arraySource([...fiveRows, outOfRange]),
    });
    expect(result.counts).toEqual({ rowsRead: 6, written: 5, skippedAsOlder: 0, rejected: 1 });
    expect(quarantine.runs).toEqual([{ view: 'profile', runId: result.runId }]);
    expect(quarantine.rows).toEqual([
      { row: outOfRange, reasons: ['score = 500 is above max 100'] },
    ]);
    expect(quarantine.flushed).toEqual([1]);
    expect(result.quarantine).toBe(`memory://profile/${result.runId}`);
    expect((await stateOf(dynalite.client, table, registry)).lastRun?.quarantine).toBe(
      result.quarantine,
    );
    expect(await servedScores(registry, table, ['C9', 'C1'])).toEqual([null, 10]);
  });

  it('include a row whose event time cannot be stored, with the reason', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const quarantine = memoryQuarantine();
    const bad = { customer_id: 'C8', score: 1, tier: 'gold', event_ts: 'yesterday' };
    const result = await run(registry, table, t0, {
      full: true,
      quarantine: quarantine.sink,
      source: arraySource([bad]),
    });
    expect(result.counts).toEqual({ rowsRead: 1, written: 0, skippedAsOlder: 0, rejected: 1 });
    expect(quarantine.rows[0]?.reasons).toHaveLength(1);
    expect(quarantine.rows[0]?.reasons[0]).toMatch(/event_ts/);
  });

  it('are removed from the online store by a full run when an earlier definition wrote them', async () => {
    const table = await newTable();
    const loose = profileRegistry({ constrained: false });
    await run(loose, table, t0, { source: arraySource([outOfRange]) });
    expect(await servedScores(loose, table, ['C9'])).toEqual([500]);
    const strict = profileRegistry();
    const lateness = await run(strict, table, t0 + 1, { source: arraySource([outOfRange]) });
    expect(lateness.counts).toEqual({ rowsRead: 1, written: 0, skippedAsOlder: 0, rejected: 1 });
    expect(await servedScores(strict, table, ['C9'])).toEqual([500]);
    const full = await run(strict, table, t0 + 2, {
      full: true,
      source: arraySource([outOfRange]),
    });
    expect(full.counts).toEqual({
      rowsRead: 1,
      written: 0,
      skippedAsOlder: 0,
      rejected: 1,
      deleted: 1,
    });
    expect(await servedScores(strict, table, ['C9'])).toEqual([null]);
  });

  it('leave an item holding a newer row alone on a full run', async () => {
    const table = await newTable();
    const loose = profileRegistry({ constrained: false });
    const newer = { ...outOfRange, score: 7, event_ts: iso(t0 - 1000) };
    await run(loose, table, t0, { source: arraySource([newer]) });
    const full = await run(profileRegistry(), table, t0 + 1, {
      full: true,
      source: arraySource([outOfRange]),
    });
    expect(full.counts).not.toHaveProperty('deleted');
    expect(await servedScores(loose, table, ['C9'])).toEqual([7]);
  });
});

describe('the view quality rules of a run', () => {
  it('are reported and recorded with the run, counting NULLs across chunks', async () => {
    const registry = profileRegistry({ quality: { minRows: 10, maxNullPercent: 20 } });
    const table = await newTable();
    const result = await run(registry, table, t0, { chunkRows: 2 });
    const issues = ['min rows 10: the run read 5', 'tier max null 20%: 40.00% null (2 of 5 rows)'];
    expect(result.qualityIssues).toEqual(issues);
    expect((await stateOf(dynalite.client, table, registry)).lastRun?.qualityIssues).toEqual(
      issues,
    );
  });

  it('are not reported when the run keeps them', async () => {
    const registry = profileRegistry({ quality: { minRows: 5, maxNullPercent: 40 } });
    const table = await newTable();
    const result = await run(registry, table, t0, { chunkRows: 2 });
    expect(result).not.toHaveProperty('qualityIssues');
    expect((await stateOf(dynalite.client, table, registry)).lastRun).not.toHaveProperty(
      'qualityIssues',
    );
  });

  it('are not reported for a paused run, whose rows are not all read', async () => {
    const registry = profileRegistry({ quality: { minRows: 10 } });
    const table = await newTable();
    let pause = false;
    const result = await run(registry, table, t0, {
      chunkRows: 2,
      onProgress: () => {
        pause = true;
      },
      shouldPause: () => pause,
    });
    expect(result.status).toBe('paused');
    expect(result).not.toHaveProperty('qualityIssues');
    expect((await stateOf(dynalite.client, table, registry)).lastRun).not.toHaveProperty(
      'qualityIssues',
    );
  });
});
