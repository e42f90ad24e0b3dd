import { describe, expect, it } from 'vitest';
import { BackgroundCompaction } from '../../../lib/push/background-compaction.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('BackgroundCompaction', () => {
  it('never runs two compactions at once, and stop waits for the running one', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    let finished = 0;
    const compaction = new BackgroundCompaction(
      async () => {
        runs += 1;
        running += 1;
        most = Math.max(most, running);
        await tick(30);
        running -= 1;
        finished += 1;
      },
      1,
      (error) => {
        throw error;
      },
    );
    compaction.start();
    await Promise.all([compaction.runNow(), compaction.runNow(), compaction.runNow()]);
    await tick(100);
    await compaction.stop();
    expect(most).toBe(1);
    expect(runs).toBeGreaterThan(1);
    expect(finished).toBe(runs); // stop returned only after the running one ended
    const after = runs;
    await tick(50);
    expect(runs).toBe(after); // no run after stop
  });

  it('reports a failed run and runs again on the next tick', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const compaction = new BackgroundCompaction(
      async () => {
        runs += 1;
        if (runs === 1) throw new Error('disk full');
      },
      5,
      (error) => errors.push(error),
    );
    compaction.start();
    while (runs < 2) await tick(5);
    await compaction.stop();
    expect(errors).toEqual([new Error('disk full')]);
  });

  it('does nothing when the interval is 0', async () => {
    let runs = 0;
    const compaction = new BackgroundCompaction(
      async () => {
        runs += 1;
      },
      0,
      () => {},
    );
    compaction.start();
    await tick(20);
    await compaction.stop();
    expect(runs).toBe(0);
  });
});
