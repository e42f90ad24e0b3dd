import { describe, expect, it } from 'vitest';
import {
  defineFeatureView,
  formatDuration,
  parseDuration,
  parseSchedule,
  ScheduleError,
} from '../../../lib/definitions/index.ts';
import { issueAt } from '../../helpers/definition-issues.ts';
import { customer, profiles } from './fixtures.ts';

const view = (extra: Record<string, unknown>) => () =>
  defineFeatureView({
    name: 'profile',
    entities: [customer],
    source: profiles,
    features: { age: 'int32' },
    ...extra,
  });

describe('ttl', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['12h', 43_200],
    ['30d', 2_592_000],
    ['2w', 1_209_600],
  ])('parses %s as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
    expect(view({ ttl: text })().ttlSeconds).toBe(seconds);
  });

  it('means no expiry when absent', () => {
    const v = view({})();
    expect(v.ttl).toBeUndefined();
    expect(v.ttlSeconds).toBeUndefined();
  });

  it.each(['3x', '0d', '-1d', '1.5h', 'd', '30 d', ''])(
    'rejects "%s", naming the view, the field and the fix',
    (text) => {
      const issue = issueAt(view({ ttl: text }), 'ttl');
      expect(issue.definition).toBe('feature view "profile"');
      expect(issue.message).toBe(`${JSON.stringify(text)} is not a duration`);
      expect(issue.hint).toContain('"30d"');
    },
  );

  it('formats seconds back to the largest whole unit', () => {
    expect(formatDuration(2_592_000)).toBe('30d');
    expect(formatDuration(5400)).toBe('90m');
    expect(formatDuration(61)).toBe('61s');
  });
});

describe('schedule', () => {
  it.each([
    ['rate(1 minute)', 60],
    ['rate(5 minutes)', 300],
    ['rate(1 hour)', 3600],
    ['rate(6 hours)', 21_600],
    ['rate(1 day)', 86_400],
  ])('accepts %s', (expression, seconds) => {
    expect(parseSchedule(expression)).toMatchObject({ kind: 'rate', intervalSeconds: seconds });
    expect(view({ schedule: expression, online: true })().schedule).toBe(expression);
  });

  it.each([
    'cron(0 6 * * ? *)',
    'cron(0/15 * ? * MON-FRI *)',
    'cron(30 2 1 * ? *)',
    'cron(0 8 ? * 2#1 *)',
    'cron(0 0 L * ? 2027)',
    'cron(5,35 14 * JAN,JUL ? *)',
  ])('accepts %s', (expression) => {
    expect(parseSchedule(expression).kind).toBe('cron');
  });

  it.each([
    ['rate(0 minutes)', 'must be at least 1 minute'],
    ['rate(1 minutes)', 'uses a plural unit for 1'],
    ['rate(5 minute)', 'uses a singular unit for 5'],
    ['rate(5 weeks)', 'is not a valid rate'],
    ['cron(0 6 * * ?)', 'has 5 fields; EventBridge cron needs 6'],
    ['cron(0 6 * * MON *)', 'exactly one of day-of-month and day-of-week must be "?"'],
    ['cron(0 6 ? * ? *)', 'exactly one of day-of-month and day-of-week must be "?"'],
    ['cron(60 6 * * ? *)', 'has 60, outside 0-59'],
    ['cron(0 24 * * ? *)', 'has 24, outside 0-23'],
    ['cron(0 6 * 13 ? *)', 'has 13, outside 1-12'],
    ['cron(0 6 ? * FUN *)', 'not a number'],
    ['cron(0/0 6 * * ? *)', 'must be a positive integer'],
    ['every 5 minutes', 'is not a schedule expression'],
  ])('rejects %s', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(ScheduleError);
    expect(() => parseSchedule(expression)).toThrow(message);
    const issue = issueAt(view({ schedule: expression }), 'schedule');
    expect(issue.message).toContain(message);
    expect(issue.hint).toBeTruthy();
  });

  it('requires a schedule on online views', () => {
    const issue = issueAt(view({ online: true }), 'schedule');
    expect(issue.message).toBe(
      'is required when online is true (materialization needs a schedule)',
    );
    expect(issue.hint).toContain('rate(6 hours)');
  });
});
