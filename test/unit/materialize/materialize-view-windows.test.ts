import { describe, expect, it } from 'vitest';
import {
  MaterializationBusyError,
  MaterializationStateStore,
} from '../../../lib/materialize/materialization-state.ts';
import {
  MaterializationError,
  type MaterializeViewOptions,
  materializeView,
} from '../../../lib/materialize/materialize-view.ts';
import { lookupFeatures } from '../../../lib/online/online-lookup.ts';
import type { Registry } from '../../../lib/registry/index.ts';
import { useDynaliteTables } from '../../helpers/dynalite-tables.ts';
import {
  arraySource,
  ingestLog,
  keyPrefixOf,
  memoryQuarantine,
  profileRegistry,
  stateOf,
} from '../../helpers/materialize-harness.ts';

const dynalite = useDynaliteTables('windows');
const { newTable } = dynalite;

const hour = 3_600_000;
const day = 24 * hour;
const t0 = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

const rows = [
  { customer_id: 'C1', score: 5, tier: 'gold', event_ts: iso(t0 - 2 * day) },
  { customer_id: 'C2', score: 50, tier: 'silver', event_ts: iso(t0 - day) },
  { customer_id: 'C3', score: 100, tier: 'bronze', event_ts: iso(t0 - 3 * hour) },
];

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
    source: arraySource(rows),
    quarantine: memoryQuarantine().sink,
    owner: `owner-${at}`,
    now: () => at,
    ...extra,
  });
}

async function servedScores(registry: Registry, table: string, at: number) {
  const results = await lookupFeatures(
    dynalite.client,
    table,
    registry,
    {
      views: [{ view: 'profile', features: [{ feature: 'score', outputName: 'score' }] }],
      entities: ['C1', 'C2', 'C3'].map((id) => ({ customer_id: id })),
    },
    { now: () => at },
  );
  return results.map((r) => r.score?.value);
}

describe('a first run of a view', () => {
  it('writes every row, moves the watermark to its end and reports the freshness lag', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const source = arraySource(rows);
    const result = await run(registry, table, t0, { source });
    expect(result).toEqual({
      view: 'profile',
      runId: expect.stringMatching(/^20260301T000000-[0-9a-f]{6}$/),
      status: 'succeeded',
      resumed: false,
      window: { until: iso(t0) },
      scope: { kind: 'full', reason: 'first run' },
      counts: { rowsRead: 3, written: 3, skippedAsOlder: 0, rejected: 0 },
      durationMs: 0,
      watermark: iso(t0),
      newestEventTs: '2026-02-28T21:00:00.000000Z',
      freshnessLagMs: 3 * hour,
    });
    expect(source.queries).toHaveLength(1);
    expect(source.queries[0]?.window).toEqual({ until: iso(t0) });
    expect(source.queries[0]?.afterKey).toBeUndefined();
    expect(await servedScores(registry, table, t0)).toEqual([5, 50, 100]);
    const state = await stateOf(dynalite.client, table, registry);
    expect(state.watermark).toBe(iso(t0));
    expect(state.newestEventTs).toBe('2026-02-28T21:00:00.000000Z');
    expect(state.lease).toBeUndefined();
    expect(state.checkpoint).toBeUndefined();
    expect(state.lastRun).toEqual({
      runId: result.runId,
      status: 'succeeded',
      startedAt: iso(t0),
      finishedAt: iso(t0),
      window: { until: iso(t0) },
      scope: { kind: 'full', reason: 'first run' },
      counts: { rowsRead: 3, written: 3, skippedAsOlder: 0, rejected: 0 },
      durationMs: 0,
    });
  });

  it('reports how long it took and how fresh the newest row is by the clock it is given', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    let clock = t0;
    const result = await run(registry, table, t0, {
      now: () => {
        clock += 10;
        return clock;
      },
    });
    expect(result.durationMs).toBeGreaterThan(0);
    // The lag is measured when the run ends, from the newest event time (3 hours before t0).
    expect(result.freshnessLagMs).toBe(clock - (t0 - 3 * hour));
    expect((await stateOf(dynalite.client, table, registry)).lastRun?.durationMs).toBeGreaterThan(
      0,
    );
  });

  it('reads no rows of a view with no data and still moves the watermark', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const result = await run(registry, table, t0, { source: arraySource([]) });
    expect(result.counts).toEqual({ rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 });
    expect(result.watermark).toBe(iso(t0));
    expect(result).not.toHaveProperty('newestEventTs');
    expect(result).not.toHaveProperty('freshnessLagMs');
  });

  it('refuses an unknown view, naming the online views', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const refusal = run(registry, table, t0, { view: 'nope' });
    await expect(refusal).rejects.toThrow(MaterializationError);
    await expect(run(registry, table, t0, { view: 'nope' })).rejects.toMatchObject({
      message: 'unknown feature view "nope"',
      hint: 'online views: profile',
    });
  });

  it('refuses a view that is not online', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    await expect(run(registry, table, t0, { view: 'offline_only' })).rejects.toMatchObject({
      message: 'feature view "offline_only" is not online, so it is not materialized',
      hint: 'set online: true in its definition',
    });
  });

  it('is refused while another run holds the lease, and changes nothing', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    await new MaterializationStateStore(
      dynalite.client,
      table,
      keyPrefixOf(registry),
      () => t0,
    ).acquire('other', hour);
    await expect(run(registry, table, t0)).rejects.toThrow(MaterializationBusyError);
    expect(await stateOf(dynalite.client, table, registry)).toEqual({
      lease: { owner: 'other', expiresAt: t0 + hour },
    });
  });

  it('takes the lease for the length it is given, renewed at each checkpoint', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const leases: (number | undefined)[] = [];
    await run(registry, table, t0, {
      leaseMs: 1234,
      onStart: () => undefined,
      onProgress: () => undefined,
      source: {
        async *latestRows() {
          leases.push((await stateOf(dynalite.client, table, registry)).lease?.expiresAt);
          yield rows;
        },
      },
    });
    expect(leases).toEqual([t0 + 1234]);
  });
});

describe('a later run without commit records', () => {
  it('reads again from the watermark less an hour, and skips rows already written', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    await run(registry, table, t0);
    const source = arraySource(rows);
    const result = await run(registry, table, t0 + day, { source });
    expect(source.queries[0]?.window).toEqual({
      after: '2026-02-28T23:00:00.000000Z',
      until: iso(t0 + day),
    });
    expect(result.scope).toEqual({ kind: 'lateness' });
    expect(result.counts).toEqual({ rowsRead: 3, written: 0, skippedAsOlder: 3, rejected: 0 });
    expect(result.watermark).toBe(iso(t0 + day));
    expect(result.newestEventTs).toBe('2026-02-28T21:00:00.000000Z');
    expect(result.freshnessLagMs).toBe(day + 3 * hour);
  });

  it('looks back as far as the allowed lateness it is given', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    await run(registry, table, t0);
    const source = arraySource(rows);
    await run(registry, table, t0 + day, { source, allowedLatenessSeconds: 90.5 });
    expect(source.queries[0]?.window.after).toBe('2026-02-28T23:58:29.500000Z');
  });

  it('reads every row again when a full run is asked for', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    await run(registry, table, t0);
    const source = arraySource(rows);
    const result = await run(registry, table, t0 + day, { source, full: true });
    expect(source.queries[0]?.window).toEqual({ until: iso(t0 + day) });
    expect(result.scope).toEqual({ kind: 'full', reason: 'asked for' });
  });
});

describe('a backfill', () => {
  it('reads its range and leaves the watermark where it was', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    await run(registry, table, t0);
    const source = arraySource(rows);
    const result = await run(registry, table, t0 + day, {
      source,
      range: { start: iso(t0 - 3 * day), end: iso(t0 - day) },
    });
    const window = { from: '2026-02-26T00:00:00.000000Z', until: '2026-02-28T00:00:00.000000Z' };
    expect(source.queries[0]?.window).toEqual(window);
    expect(result.window).toEqual(window);
    expect(result.scope).toEqual({ kind: 'backfill' });
    expect(result.watermark).toBe(iso(t0));
    expect((await stateOf(dynalite.client, table, registry)).watermark).toBe(iso(t0));
  });

  it('without an end runs to now, and without a start from the beginning', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const source = arraySource(rows);
    const result = await run(registry, table, t0, { source, range: { start: iso(t0 - day) } });
    expect(source.queries[0]?.window).toEqual({
      from: '2026-02-28T00:00:00.000000Z',
      until: iso(t0),
    });
    // No watermark before, none after: a backfill does not make one.
    expect(result).not.toHaveProperty('watermark');
    const open = arraySource(rows);
    await run(registry, table, t0, { source: open, range: { end: iso(t0 - day) } });
    expect(open.queries[0]?.window).toEqual({ until: '2026-02-28T00:00:00.000000Z' });
  });

  it('accepts a range of one instant', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const result = await run(registry, table, t0, {
      range: { start: iso(t0 - day), end: iso(t0 - day) },
    });
    expect(result.status).toBe('succeeded');
  });

  it('is refused before the lease is taken when it ends before it starts or comes with a full run', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    await expect(
      run(registry, table, t0, { range: { start: iso(t0), end: iso(t0 - 1) } }),
    ).rejects.toMatchObject({
      message: `the backfill range starts (2026-03-01T00:00:00.000000Z) after it ends (2026-02-28T23:59:59.999000Z)`,
      hint: 'give --start before --end',
    });
    await expect(
      run(registry, table, t0, { full: true, range: { start: iso(t0 - day) } }),
    ).rejects.toMatchObject({
      message: 'a full run of profile reads every row; it takes no range',
      hint: 'give either a full run or a backfill range',
    });
    expect(await stateOf(dynalite.client, table, registry)).toEqual({});
  });
});

describe('a run with commit records', () => {
  const first = { ingestId: 'i1', firstSeq: 1, rows: 3, committedAtMs: t0 - day };
  const second = {
    ingestId: 'i2',
    firstSeq: 4,
    rows: 2,
    committedAtMs: t0 + hour,
    days: ['2026-02-27'],
  };

  it('first reads everything and records the ingests and the definition it covers', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const log = ingestLog([first]);
    const result = await run(registry, table, t0, { ingests: log });
    expect(log.calls).toEqual([{ source: 'events', covered: undefined }]);
    expect(result.scope).toEqual({ kind: 'full', reason: 'first run' });
    const state = await stateOf(dynalite.client, table, registry);
    expect(state.ingests).toEqual({ seqThrough: '3' });
    expect(state.definition).toMatch(/^[0-9a-f]{16,}$/);
  });

  it('then reads only the rows of new ingests and rows dated since, and counts them', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const log = ingestLog([first]);
    await run(registry, table, t0, { ingests: log });
    log.snapshot = [first, second];
    const source = arraySource(rows);
    const result = await run(registry, table, t0 + day, { ingests: log, source });
    expect(log.calls[1]).toEqual({ source: 'events', covered: { seqThrough: '3' } });
    expect(source.queries[0]?.window).toEqual({
      after: iso(t0),
      until: iso(t0 + day),
      newIngests: { seqRanges: [['4', '5']], days: ['2026-02-27'] },
    });
    expect(result.scope).toEqual({ kind: 'incremental', newIngests: 1, newIngestRows: 2 });
    const state = await stateOf(dynalite.client, table, registry);
    expect(state.ingests).toEqual({ seqThrough: '5' });
    // The record of the run keeps the counts, not the ranges the checkpoint held.
    expect(state.lastRun?.window).toEqual({ after: iso(t0), until: iso(t0 + day) });
    expect(state.lastRun?.scope).toEqual(result.scope);
  });

  it('reads everything again when the definition changed since the last run', async () => {
    const table = await newTable();
    const log = ingestLog([first]);
    const loose = profileRegistry({ constrained: false });
    await run(loose, table, t0, { ingests: log });
    const strict = profileRegistry();
    expect(keyPrefixOf(strict)).toBe(keyPrefixOf(loose));
    const result = await run(strict, table, t0 + day, { ingests: log });
    expect(log.calls[1]?.covered).toBeUndefined();
    expect(result.scope).toEqual({ kind: 'full', reason: 'the definition changed' });
    const before = await stateOf(dynalite.client, table, loose);
    expect(before.definition).not.toBeUndefined();
  });

  it('reads everything when the state has a watermark but tracks no ingests yet', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    await run(registry, table, t0);
    const result = await run(registry, table, t0 + day, { ingests: ingestLog([first]) });
    expect(result.scope).toEqual({ kind: 'full', reason: 'the state tracks no ingests yet' });
    expect((await stateOf(dynalite.client, table, registry)).ingests).toEqual({ seqThrough: '3' });
  });

  it('reads everything when asked to, though the state covers the ingests', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const log = ingestLog([first]);
    await run(registry, table, t0, { ingests: log });
    const result = await run(registry, table, t0 + day, { ingests: log, full: true });
    expect(result.scope).toEqual({ kind: 'full', reason: 'asked for' });
  });

  it('does not read the commit records for a backfill', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const log = ingestLog([first]);
    await run(registry, table, t0, { ingests: log, range: { start: iso(t0 - day) } });
    expect(log.calls).toEqual([]);
  });

  it('gives the lease back and records a failed run when the commit records cannot be read', async () => {
    const registry = profileRegistry();
    const table = await newTable();
    const log = ingestLog([first]);
    log.failure = new Error('S3 is down');
    await expect(run(registry, table, t0, { ingests: log })).rejects.toThrow('S3 is down');
    const state = await stateOf(dynalite.client, table, registry);
    expect(state.lease).toBeUndefined();
    expect(state.lastRun).toEqual({
      runId: 'not-started',
      status: 'failed',
      startedAt: iso(t0),
      finishedAt: iso(t0),
      window: { until: iso(t0) },
      counts: { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 },
      durationMs: 0,
      error: 'S3 is down',
    });
  });
});
