import { describe, expect, it } from 'vitest';
import { inParallel } from '../../../lib/bounded-pool.ts';

/** A promise the test settles by hand, so the order of events is fixed, not timed. */
function gate() {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('inParallel', () => {
  it('runs the work once on every item', async () => {
    const seen: number[] = [];
    await inParallel([1, 2, 3, 4, 5], 2, async (item) => {
      seen.push(item);
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('has at most the limit in flight and starts the next item when one ends', async () => {
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const done = inParallel([0, 1, 2, 3], 2, async (item) => {
      started.push(item);
      await gates[item]?.promise;
    });
    await settle();
    expect(started).toEqual([0, 1]);
    gates[1]?.open();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    await done;
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it('runs with one worker when the limit is zero or below, and does nothing for no items', async () => {
    const seen: string[] = [];
    await inParallel(['a', 'b'], 0, async (item) => {
      seen.push(item);
    });
    expect(seen).toEqual(['a', 'b']);
    await expect(inParallel([], 4, async () => undefined)).resolves.toBeUndefined();
  });

  it('rejects with the first failure and starts no new item after it', async () => {
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const done = inParallel([0, 1, 2], 2, async (item) => {
      started.push(item);
      await gates[item]?.promise;
    });
    done.catch(() => undefined);
    await settle();
    gates[0]?.fail(new Error('item 0 broke'));
    await expect(done).rejects.toThrow('item 0 broke');
    gates[1]?.open();
    await settle();
    expect(started).toEqual([0, 1]);
  });
});
