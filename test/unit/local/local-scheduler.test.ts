import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalScheduler } from '../../../lib/local/local-scheduler.ts';

describe('LocalScheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs each job when its schedule fires and not before', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T10:00:00Z') });
    const runs: string[] = [];
    const scheduler = new LocalScheduler(
      [
        {
          name: 'minutely',
          schedule: 'rate(1 minute)',
          run: async () => void runs.push(`m@${new Date().toISOString()}`),
        },
        {
          name: 'hourly',
          schedule: 'cron(0 * * * ? *)',
          run: async () => void runs.push(`h@${new Date().toISOString()}`),
        },
      ],
      () => {},
    );
    scheduler.start();
    await vi.advanceTimersByTimeAsync(59_000);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(runs).toEqual(['m@2026-03-01T10:01:00.000Z', 'm@2026-03-01T10:02:00.000Z']);
    await vi.advanceTimersByTimeAsync(58 * 60_000);
    expect(runs.filter((r) => r.startsWith('h@'))).toEqual(['h@2026-03-01T11:00:00.000Z']);
    await scheduler.stop();
  });

  it('skips a tick while the previous run of the job is still going, and stop() waits for it', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T10:00:00Z') });
    let release: () => void = () => {};
    let started = 0;
    let finished = 0;
    const scheduler = new LocalScheduler(
      [
        {
          name: 'slow',
          schedule: 'rate(1 minute)',
          run: () =>
            new Promise<void>((resolve) => {
              started += 1;
              release = () => {
                finished += 1;
                resolve();
              };
            }),
        },
      ],
      () => {},
    );
    scheduler.start();
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(started).toBe(1);
    const stopping = scheduler.stop();
    release();
    await stopping;
    expect(finished).toBe(1);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(started).toBe(1);
  });

  it('reports a failing run and keeps the schedule going', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T10:00:00Z') });
    const errors: string[] = [];
    let attempts = 0;
    const scheduler = new LocalScheduler(
      [
        {
          name: 'flaky',
          schedule: 'rate(1 minute)',
          run: async () => {
            attempts += 1;
            throw new Error('boom');
          },
        },
      ],
      (job, error) => errors.push(`${job}: ${(error as Error).message}`),
    );
    scheduler.start();
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(attempts).toBe(2);
    expect(errors).toEqual(['flaky: boom', 'flaky: boom']);
    await scheduler.stop();
  });
});
