import { describe, expect, it } from 'vitest';
import type { RunCounts } from '../../../lib/materialize/materialization-state.ts';
import {
  combineShardProgress,
  maxShards,
  parseShardCount,
  runShards,
  type ShardProgress,
  shardOfKey,
  unfinishedShards,
} from '../../../lib/materialize/shard-plan.ts';

const counts = (rowsRead: number, written = rowsRead): RunCounts => ({
  rowsRead,
  written,
  skippedAsOlder: rowsRead - written,
  rejected: 0,
});

describe('the shard of an entity key', () => {
  it('is the first 32 bits of the md5 of the key text, modulo the shard count', () => {
    // md5('C1') = 1a2ddc2d...: 0x1a2ddc2d = 439213101, 439213101 % 4 = 1.
    expect(shardOfKey(['C1'], 4)).toBe(1);
    expect(shardOfKey(['C1'], 1)).toBe(0);
  });

  it('is stable and spreads keys over every shard', () => {
    const seen = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      const shard = shardOfKey([`C${i}`], 4);
      expect(shardOfKey([`C${i}`], 4)).toBe(shard);
      seen.set(shard, (seen.get(shard) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const n of seen.values()) expect(n).toBeGreaterThan(800);
  });

  it('reads an integer key as its decimal text and joins composite keys with a unit separator', () => {
    expect(shardOfKey([42], 7)).toBe(shardOfKey(['42'], 7));
    expect(shardOfKey([42n], 7)).toBe(shardOfKey(['42'], 7));
    expect(shardOfKey(['a', 'bc'], 1000)).not.toBe(shardOfKey(['ab', 'c'], 1000));
  });
});

describe('a shard count given by the user', () => {
  it.each(['1', '4', String(maxShards)])('accepts %s', (text) => {
    expect(parseShardCount(text, '--shards')).toBe(Number(text));
  });

  it.each([
    ['0', 'at least 1'],
    ['-2', 'at least 1'],
    ['two', 'a whole number'],
    ['1.5', 'a whole number'],
    ['', 'a whole number'],
    [String(maxShards + 1), `at most ${maxShards}`],
  ])('refuses %j, naming the option and the rule (%s)', (text, rule) => {
    expect(() => parseShardCount(text, '--shards')).toThrow(/--shards/);
    expect(() => parseShardCount(text, '--shards')).toThrow(rule);
  });
});

describe('the progress of a sharded run', () => {
  const done = (shard: number, rows: number): ShardProgress => ({
    runId: 'r1',
    shard,
    done: true,
    counts: counts(rows),
    newestEventTs: `2026-01-0${shard + 1}T00:00:00Z`,
    nullCounts: { score: shard },
  });
  const partial = (shard: number, rows: number): ShardProgress => ({
    runId: 'r1',
    shard,
    done: false,
    afterKey: ['C9'],
    counts: counts(rows),
  });

  it('lists the shards not yet done, so a rerun resumes only those', () => {
    expect(unfinishedShards(4, {})).toEqual([0, 1, 2, 3]);
    expect(unfinishedShards(4, { 0: done(0, 5), 2: partial(2, 3), 3: done(3, 1) })).toEqual([1, 2]);
    expect(unfinishedShards(2, { 0: done(0, 5), 1: done(1, 1) })).toEqual([]);
  });

  it('sums counts and NULLs and keeps the newest event time over all shards', () => {
    const combined = combineShardProgress([done(0, 5), done(1, 7), partial(2, 3)]);
    expect(combined.counts).toEqual(counts(15));
    expect(combined.newestEventTs).toBe('2026-01-02T00:00:00Z');
    expect(combined.nullCounts).toEqual({ score: 1 });
  });

  it('keeps a deleted count only when a shard deleted something', () => {
    expect(combineShardProgress([done(0, 1)]).counts.deleted).toBeUndefined();
    const deleting = { ...done(1, 2), counts: { ...counts(2), deleted: 2 } };
    expect(combineShardProgress([done(0, 1), deleting]).counts.deleted).toBe(2);
  });
});

describe('running the shards of a run', () => {
  it('runs every shard concurrently and retries a failed shard alone', async () => {
    const calls: number[] = [];
    let running = 0;
    let peak = 0;
    const result = await runShards([0, 1, 2], {
      attempts: 3,
      retryable: () => true,
      run: async (shard, attempt) => {
        calls.push(shard);
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        if (shard === 1 && attempt < 2) throw new Error('throttled');
        return 'done';
      },
    });
    expect(peak).toBe(3);
    expect(calls.filter((s) => s === 1)).toHaveLength(2);
    expect(calls.filter((s) => s !== 1)).toHaveLength(2);
    expect(result.failed).toEqual([]);
    expect(result.outcomes).toEqual({ 0: 'done', 1: 'done', 2: 'done' });
  });

  it('reports a shard that keeps failing after the others finish, without retrying what is not retryable', async () => {
    const calls: number[] = [];
    const result = await runShards([0, 1], {
      attempts: 3,
      retryable: (error) => (error as Error).message !== 'lease lost',
      run: async (shard) => {
        calls.push(shard);
        if (shard === 1) throw new Error('lease lost');
        return 'done';
      },
    });
    expect(calls).toEqual([0, 1]);
    expect(result.outcomes).toEqual({ 0: 'done' });
    expect(result.failed.map((f) => [f.shard, (f.error as Error).message])).toEqual([
      [1, 'lease lost'],
    ]);
  });

  it('gives up on a shard after its attempts', async () => {
    let tries = 0;
    const result = await runShards([5], {
      attempts: 2,
      retryable: () => true,
      run: async () => {
        tries++;
        throw new Error('down');
      },
    });
    expect(tries).toBe(2);
    expect(result.failed).toHaveLength(1);
  });
});
