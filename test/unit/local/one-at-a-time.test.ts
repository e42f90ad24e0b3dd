import { describe, expect, it } from 'vitest';
import { oneAtATime } from '../../../lib/local/one-at-a-time.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('oneAtATime', () => {
  it('starts a task only after the one before it settled, in call order', async () => {
    const run = oneAtATime();
    const events: string[] = [];
    const task = (name: string) => async () => {
      events.push(`start ${name}`);
      await tick();
      events.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([run(task('a')), run(task('b')), run(task('c'))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it("gives a task's failure to its own caller only, and runs the next task", async () => {
    const run = oneAtATime();
    const failing = run(async () => {
      await tick();
      throw new Error('lock busy');
    });
    const next = run(async () => 'ran');
    await expect(failing).rejects.toThrow('lock busy');
    await expect(next).resolves.toBe('ran');
  });
});
