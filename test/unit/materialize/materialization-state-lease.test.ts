import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  type LastRun,
  LeaseLostError,
  MaterializationBusyError,
  MaterializationStateStore,
  stateKey,
} from '../../../lib/materialize/materialization-state.ts';
import { useDynaliteTables } from '../../helpers/dynalite-tables.ts';

const dynalite = useDynaliteTables('state');
const { newTable } = dynalite;

const t0 = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A store whose clock the test moves. */
function storeAt(table: string, clock: { ms: number }, keyPrefix = 'profile#v1') {
  return new MaterializationStateStore(dynalite.client, table, keyPrefix, () => clock.ms);
}

function lastRun(status: LastRun['status'], runId = 'r1'): LastRun {
  return {
    runId,
    status,
    startedAt: iso(t0),
    finishedAt: iso(t0 + 5),
    window: { until: iso(t0) },
    counts: { rowsRead: 3, written: 2, skippedAsOlder: 1, rejected: 0 },
    durationMs: 5,
  };
}

async function rawState(table: string, keyPrefix = 'profile#v1') {
  const { Item } = await dynalite.client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: stateKey(keyPrefix) } } }),
  );
  return Item;
}

describe('the materialization lease', () => {
  it('is taken on an empty state, recorded with its expiry, and read back', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    const state = await storeAt(table, clock).acquire('run-a', 60_000);
    expect(state).toEqual({ lease: { owner: 'run-a', expiresAt: t0 + 60_000 } });
    expect(await storeAt(table, clock).read()).toEqual(state);
  });

  it('refuses another owner while it holds, naming the holder and when its lease ends', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    await storeAt(table, clock).acquire('run-a', 60_000);
    clock.ms = t0 + 59_999;
    const refusal = storeAt(table, clock).acquire('run-b', 60_000);
    await expect(refusal).rejects.toThrow(MaterializationBusyError);
    await expect(storeAt(table, clock).acquire('run-b', 60_000)).rejects.toThrow(
      `another materialization of this view is running (run-a, lease until ${iso(t0 + 60_000)})`,
    );
    await expect(storeAt(table, clock).acquire('run-b', 60_000)).rejects.toMatchObject({
      hint: 'wait for it to finish; a crashed run releases its lease when it expires',
    });
  });

  it('is taken again by its own owner, which extends it', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    await storeAt(table, clock).acquire('run-a', 60_000);
    clock.ms = t0 + 1000;
    const state = await storeAt(table, clock).acquire('run-a', 60_000);
    expect(state.lease).toEqual({ owner: 'run-a', expiresAt: t0 + 61_000 });
  });

  it('is taken over by another owner once it has expired, not at its last instant', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    await storeAt(table, clock).acquire('run-a', 60_000);
    clock.ms = t0 + 60_000;
    await expect(storeAt(table, clock).acquire('run-b', 1000)).rejects.toThrow(
      MaterializationBusyError,
    );
    clock.ms = t0 + 60_001;
    const state = await storeAt(table, clock).acquire('run-b', 1000);
    expect(state.lease).toEqual({ owner: 'run-b', expiresAt: t0 + 61_001 });
  });

  it('is taken over at once from a holder that is gone, and only from that holder', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    await storeAt(table, clock).acquire('dead-run', 3_600_000);
    const asked: string[] = [];
    const gone = (holder: string) => {
      asked.push(holder);
      return holder === 'dead-run';
    };
    const state = await storeAt(table, clock).acquire('run-b', 60_000, gone);
    expect(asked).toEqual(['dead-run']);
    expect(state.lease).toEqual({ owner: 'run-b', expiresAt: t0 + 60_000 });
    await expect(storeAt(table, clock).acquire('run-c', 60_000, gone)).rejects.toThrow(
      /\(run-b, lease until/,
    );
  });

  it('keeps the rest of the state when taken', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    const store = storeAt(table, clock);
    await store.acquire('run-a', 60_000);
    await store.finish('run-a', lastRun('succeeded'), {
      watermark: iso(t0),
      definition: 'def-1',
      ingests: { seqThrough: '41' },
    });
    const state = await storeAt(table, clock).acquire('run-b', 60_000);
    expect(state).toMatchObject({
      watermark: iso(t0),
      definition: 'def-1',
      ingests: { seqThrough: '41' },
      lastRun: lastRun('succeeded'),
      lease: { owner: 'run-b', expiresAt: t0 + 60_000 },
    });
  });

  it('passes on a failure other than a held lease (a missing table) as it is', async () => {
    const clock = { ms: t0 };
    const missing = storeAt('no-such-table', clock);
    await expect(missing.acquire('run-a', 1000)).rejects.toThrow(/non-existent table|not found/i);
    await expect(missing.acquire('run-a', 1000)).rejects.not.toThrow(MaterializationBusyError);
  });
});

describe('changes to the state after the lease is taken', () => {
  it('records a checkpoint and extends the lease from the time of the checkpoint', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    const store = storeAt(table, clock);
    await store.acquire('run-a', 60_000);
    clock.ms = t0 + 30_000;
    const checkpoint = {
      runId: 'r1',
      startedAt: iso(t0),
      window: { until: iso(t0) },
      backfill: false,
      afterKey: ['C0002'],
      counts: { rowsRead: 2, written: 2, skippedAsOlder: 0, rejected: 0 },
    };
    await store.checkpoint('run-a', 60_000, checkpoint);
    expect(await store.read()).toEqual({
      checkpoint,
      lease: { owner: 'run-a', expiresAt: t0 + 90_000 },
    });
  });

  it('refuses a checkpoint, a finish and a release from a run that lost its lease', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    await storeAt(table, clock).acquire('run-a', 1000);
    clock.ms = t0 + 2000;
    await storeAt(table, clock).acquire('run-b', 60_000);
    const lost = storeAt(table, clock);
    const checkpoint = {
      runId: 'r1',
      startedAt: iso(t0),
      window: { until: iso(t0) },
      backfill: false,
      counts: { rowsRead: 0, written: 0, skippedAsOlder: 0, rejected: 0 },
    };
    await expect(lost.checkpoint('run-a', 1000, checkpoint)).rejects.toThrow(LeaseLostError);
    await expect(
      lost.finish('run-a', lastRun('succeeded'), { watermark: iso(t0) }),
    ).rejects.toThrow('the materialization lease of run-a expired and another run took it over');
    await expect(lost.release('run-a', lastRun('failed'))).rejects.toMatchObject({
      hint: 'raise the lease duration if runs stall longer than it between checkpoints',
    });
    expect(await lost.read()).toEqual({ lease: { owner: 'run-b', expiresAt: t0 + 62_000 } });
  });

  it('passes on a failure other than a lost lease (a missing table) as it is', async () => {
    const missing = storeAt('no-such-table', { ms: t0 });
    const failure = missing.release('run-a', lastRun('failed'));
    await expect(failure).rejects.toThrow(/non-existent table|not found/i);
    await expect(missing.release('run-a', lastRun('failed'))).rejects.not.toThrow(LeaseLostError);
  });

  it('finishes a run: records it, moves what it is given, clears the checkpoint and the lease', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    const store = storeAt(table, clock);
    await store.acquire('run-a', 60_000);
    await store.checkpoint('run-a', 60_000, {
      runId: 'r1',
      startedAt: iso(t0),
      window: { until: iso(t0) },
      backfill: false,
      counts: { rowsRead: 1, written: 1, skippedAsOlder: 0, rejected: 0 },
    });
    await store.finish('run-a', lastRun('succeeded'), {
      watermark: iso(t0),
      newestEventTs: iso(t0 - 10),
      ingests: { settledBeforeMs: t0 - 600_000, ingestIds: ['i-7'] },
      definition: 'def-1',
    });
    expect(await store.read()).toEqual({
      watermark: iso(t0),
      newestEventTs: iso(t0 - 10),
      ingests: { settledBeforeMs: t0 - 600_000, ingestIds: ['i-7'] },
      definition: 'def-1',
      lastRun: lastRun('succeeded'),
    });
    const item = await rawState(table);
    expect(Object.keys(item ?? {}).sort()).toEqual([
      'definition',
      'ingests',
      'last_run',
      'newest_event_ts',
      'pk',
      'watermark',
    ]);
  });

  it('finishes a run given nothing to move without touching the watermark or coverage', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    const store = storeAt(table, clock);
    await store.acquire('run-a', 60_000);
    await store.finish('run-a', lastRun('succeeded'), {
      watermark: iso(t0),
      newestEventTs: iso(t0 - 10),
      ingests: { seqThrough: '9' },
      definition: 'def-1',
    });
    await store.acquire('run-b', 60_000);
    await store.finish('run-b', lastRun('succeeded', 'r2'), {});
    expect(await store.read()).toEqual({
      watermark: iso(t0),
      newestEventTs: iso(t0 - 10),
      ingests: { seqThrough: '9' },
      definition: 'def-1',
      lastRun: lastRun('succeeded', 'r2'),
    });
  });

  it('releases the lease and records why the run stopped, keeping its checkpoint to resume', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    const store = storeAt(table, clock);
    await store.acquire('run-a', 60_000);
    const checkpoint = {
      runId: 'r1',
      startedAt: iso(t0),
      window: { after: iso(t0 - 1000), until: iso(t0) },
      backfill: false,
      afterKey: [7, 'x'],
      counts: { rowsRead: 4, written: 4, skippedAsOlder: 0, rejected: 0 },
    };
    await store.checkpoint('run-a', 60_000, checkpoint);
    await store.release('run-a', lastRun('paused'));
    expect(await store.read()).toEqual({ checkpoint, lastRun: lastRun('paused') });
    // Released: anyone may take it at once.
    expect((await storeAt(table, clock).acquire('run-b', 1000)).lease?.owner).toBe('run-b');
  });

  it('keeps the states of two view versions apart', async () => {
    const table = await newTable();
    const clock = { ms: t0 };
    await storeAt(table, clock, 'profile#v1').acquire('run-a', 60_000);
    const other = await storeAt(table, clock, 'profile#v2').acquire('run-b', 60_000);
    expect(other.lease?.owner).toBe('run-b');
    expect(stateKey('profile#v2')).toBe('~fstore#materialization#profile#v2');
  });
});
