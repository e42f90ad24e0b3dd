import { describe, expect, it } from 'vitest';
import { nextRun } from '../../../lib/local/next-run.ts';

const at = (iso: string) => new Date(iso);
const next = (expression: string, after: string, anchor?: string) =>
  nextRun(expression, at(after), anchor ? at(anchor) : undefined).toISOString();

describe('nextRun (EventBridge schedule expressions, UTC)', () => {
  it('counts rate() intervals from the anchor', () => {
    expect(next('rate(6 hours)', '2026-03-01T10:07:00Z', '2026-03-01T10:00:00Z')).toBe(
      '2026-03-01T16:00:00.000Z',
    );
    expect(next('rate(1 minute)', '2026-03-01T10:00:00Z')).toBe('2026-03-01T10:01:00.000Z');
    expect(next('rate(1 day)', '2026-03-02T10:00:00Z', '2026-03-01T10:00:00Z')).toBe(
      '2026-03-03T10:00:00.000Z',
    );
  });

  it('fires cron() with EventBridge fields', () => {
    expect(next('cron(0 6 * * ? *)', '2026-03-01T10:07:00Z')).toBe('2026-03-02T06:00:00.000Z');
    expect(next('cron(0/15 * ? * MON-FRI *)', '2026-02-28T10:07:00Z')).toBe(
      '2026-03-02T00:00:00.000Z',
    );
    expect(next('cron(30 2 1 * ? *)', '2026-03-01T10:07:00Z')).toBe('2026-04-01T02:30:00.000Z');
  });

  it('numbers days of the week from 1 = Sunday, as EventBridge does', () => {
    // 2026-03-01 is a Sunday.
    expect(next('cron(0 8 ? * 1 *)', '2026-03-01T09:00:00Z')).toBe('2026-03-08T08:00:00.000Z');
    expect(next('cron(0 8 ? * 2#1 *)', '2026-03-01T09:00:00Z')).toBe('2026-03-02T08:00:00.000Z');
  });

  it('honours the year field', () => {
    expect(next('cron(0 0 1 1 ? 2028)', '2026-03-01T00:00:00Z')).toBe('2028-01-01T00:00:00.000Z');
    expect(() => next('cron(0 0 1 1 ? 2025)', '2026-03-01T00:00:00Z')).toThrow(
      'does not fire again',
    );
  });
});
