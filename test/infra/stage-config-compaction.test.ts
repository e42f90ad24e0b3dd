import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';

describe('stage config: scheduled compaction of pushed rows', () => {
  it('compacts every 15 minutes by default, in dev and prod', () => {
    expect(resolveStageConfig('dev').compaction.schedule).toBe('rate(15 minutes)');
    expect(resolveStageConfig('prod').compaction.schedule).toBe('rate(15 minutes)');
  });

  it('takes another rate or cron expression, keeping the trusted principals default', () => {
    const config = resolveStageConfig('dev', { compaction: { schedule: 'cron(0/30 * * * ? *)' } });
    expect(config.compaction).toEqual({ schedule: 'cron(0/30 * * * ? *)', principalArns: [] });
  });

  it('turns the schedule off with false', () => {
    expect(resolveStageConfig('dev', { compaction: { schedule: false } }).compaction.schedule).toBe(
      false,
    );
  });

  it('rejects an expression that is not a schedule, naming the field and how to write one', () => {
    expect(() =>
      resolveStageConfig('dev', { compaction: { schedule: 'every 15 minutes' } }),
    ).toThrow(
      /stage config "dev": compaction\.schedule: "every 15 minutes" is not a schedule expression; write "rate\(/,
    );
    expect(() =>
      resolveStageConfig('dev', { compaction: { schedule: 'rate(15 minute)' } }),
    ).toThrow(/compaction\.schedule: .*singular unit/);
  });

  it('rejects true (only false turns it off; on is an expression)', () => {
    expect(() =>
      resolveStageConfig('dev', { compaction: { schedule: true as unknown as false } }),
    ).toThrow(/compaction\.schedule: .*false/);
  });

  it.each([
    [
      'rate(1 minute)',
      /runs every 60 s at its longest; .*between every 5 minutes and every 12 hours/,
    ],
    ['cron(0 6 ? * MON *)', /runs every 604800 s at its longest/],
    ['cron(0 6 * * ? 2027)', /does not fire regularly/],
  ])(
    'rejects %s: its alarms judge staged rows by the interval, 5 minutes to 12 hours',
    (schedule, reason) => {
      expect(() => resolveStageConfig('dev', { compaction: { schedule } })).toThrow(reason);
    },
  );

  it('accepts the interval bounds themselves', () => {
    for (const schedule of ['rate(5 minutes)', 'rate(12 hours)', 'cron(0 */12 * * ? *)'])
      expect(resolveStageConfig('dev', { compaction: { schedule } }).compaction.schedule).toBe(
        schedule,
      );
  });
});
