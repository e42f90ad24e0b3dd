import { describe, expect, it } from 'vitest';
import {
  defineFeatureView,
  type FeatureViewInput,
  formatDuration,
  parseDuration,
  parseSchedule,
  ScheduleError,
} from '../../../lib/definitions/index.ts';
import { issuesOf } from '../../helpers/definition-issues.ts';
import { customer, expectRejected, profiles } from './fixtures.ts';

const view = (extra: Partial<FeatureViewInput>) => () =>
  defineFeatureView({
    name: 'profile',
    entities: [customer],
    source: profiles,
    features: { age: 'int32' },
    ...extra,
  });
const label = 'feature view "profile"';

describe('defineFeatureView ttl', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['12h', 43_200],
    ['30d', 2_592_000],
    ['365d', 31_536_000],
    ['2w', 1_209_600],
  ])('accepts %s as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
    const v = view({ ttl: text })();
    expect(v.ttl).toBe(text);
    expect(v.ttlSeconds).toBe(seconds);
  });

  it('means no expiry when absent (not ttl 0)', () => {
    const v = view({})();
    expect(v.ttl).toBeUndefined();
    expect(v.ttlSeconds).toBeUndefined();
    expect(Object.keys(v)).not.toContain('ttl');
  });

  it.each(['3x', '0d', '00d', '030d', '-1d', '1.5h', 'd', '30', '30 d', '30D', '1y', ''])(
    'rejects the ttl "%s" that is not a duration, naming the view, the field and the fix',
    (text) => {
      expectRejected(view({ ttl: text }), {
        definition: label,
        field: 'ttl',
        message: `${JSON.stringify(text)} is not a duration`,
        hint: 'write a positive whole number and a unit s, m, h, d or w, e.g. "30d" or "12h"; leave ttl out for no expiry',
      });
    },
  );

  it('rejects a ttl given as a number of seconds', () => {
    expectRejected(view({ ttl: 86_400 as never }), {
      definition: label,
      field: 'ttl',
      message: 'expected string, received number',
      hint: 'give a string',
    });
  });

  it('formats seconds back to the largest whole unit', () => {
    expect(formatDuration(1_209_600)).toBe('2w');
    expect(formatDuration(2_592_000)).toBe('30d');
    expect(formatDuration(5400)).toBe('90m');
    expect(formatDuration(7200)).toBe('2h');
    expect(formatDuration(61)).toBe('61s');
  });
});

describe('defineFeatureView schedule', () => {
  it.each([
    ['rate(1 minute)', 60],
    ['rate(5 minutes)', 300],
    ['rate(1 hour)', 3600],
    ['rate(6 hours)', 21_600],
    ['rate(1 day)', 86_400],
    ['rate(7 days)', 604_800],
  ])('accepts %s (every %i seconds)', (expression, seconds) => {
    expect(parseSchedule(expression)).toMatchObject({ kind: 'rate', intervalSeconds: seconds });
    const v = view({ schedule: expression, online: true })();
    expect(v.schedule).toBe(expression);
    expect(v.online).toBe(true);
  });

  it.each([
    ['cron(0 6 * * ? *)', { minutes: '0', hours: '6', dayOfMonth: '*', dayOfWeek: '?' }],
    ['cron(0/15 * ? * MON-FRI *)', { minutes: '0/15', dayOfMonth: '?', dayOfWeek: 'MON-FRI' }],
    ['cron(30 2 1 * ? *)', { dayOfMonth: '1' }],
    ['cron(0 8 ? * 2#1 *)', { dayOfWeek: '2#1' }],
    ['cron(0 0 L * ? 2027)', { dayOfMonth: 'L', year: '2027' }],
    ['cron(0 0 15W * ? *)', { dayOfMonth: '15W' }],
    ['cron(0 0 ? * 6L *)', { dayOfWeek: '6L' }],
    ['cron(0 0 ? * L *)', { dayOfWeek: 'L' }],
    ['cron(5,35 14 * JAN,JUL ? *)', { minutes: '5,35', month: 'JAN,JUL' }],
    ['cron(*/10 8-17 ? * mon-fri *)', { minutes: '*/10', hours: '8-17' }],
  ])('accepts %s', (expression, fields) => {
    const parsed = parseSchedule(expression);
    expect(parsed.kind).toBe('cron');
    expect(parsed.kind === 'cron' && parsed.fields).toMatchObject(fields);
    expect(view({ schedule: expression, online: true })().schedule).toBe(expression);
  });

  it.each([
    [
      'rate(0 minutes)',
      '"rate(0 minutes)" must be at least 1 minute',
      'use "rate(1 minute)" or more',
    ],
    ['rate(1 minutes)', '"rate(1 minutes)" uses a plural unit for 1', 'write "rate(1 minute)"'],
    ['rate(5 minute)', '"rate(5 minute)" uses a singular unit for 5', 'write "rate(5 minutes)"'],
    ['rate(2 weeks)', '"rate(2 weeks)" is not a valid rate', 'unit minute(s), hour(s) or day(s)'],
    ['rate(1.5 hours)', 'is not a valid rate', 'e.g. "rate(6 hours)"'],
    ['rate(hours)', 'is not a valid rate', 'e.g. "rate(6 hours)"'],
    [
      'cron(0 6 * * ?)',
      '"cron(0 6 * * ?)" has 5 fields; EventBridge cron needs 6',
      'e.g. "cron(0 6 * * ? *)"',
    ],
    ['cron(0 0 6 * * ? *)', 'has 7 fields; EventBridge cron needs 6', '<year>'],
    [
      'cron(0 6 1 * MON *)',
      'exactly one of day-of-month and day-of-week must be "?"',
      'use "?" in the one you do not constrain',
    ],
    [
      'cron(0 6 * * * *)',
      'exactly one of day-of-month and day-of-week must be "?"',
      'cron(0 6 * * ? *)',
    ],
    [
      'cron(0 6 ? * ? *)',
      'exactly one of day-of-month and day-of-week must be "?"',
      'cron(0 6 * * ? *)',
    ],
    [
      'cron(60 6 * * ? *)',
      'cron minutes field "60" has 60, outside 0-59',
      'minutes takes values 0-59',
    ],
    ['cron(0 24 * * ? *)', 'cron hours field "24" has 24, outside 0-23', 'hours takes values 0-23'],
    ['cron(0 6 32 * ? *)', 'has 32, outside 1-31', 'day-of-month takes values 1-31'],
    ['cron(0 6 * 13 ? *)', 'has 13, outside 1-12', 'month takes values 1-12 or JAN-DEC'],
    ['cron(0 6 ? * 8 *)', 'has 8, outside 1-7', 'day-of-week takes values 1-7 or SUN-SAT'],
    ['cron(0 6 ? * 9L *)', 'has 9, outside 1-7', 'day-of-week takes values 1-7'],
    ['cron(0 6 ? * 2#6 *)', 'has "2#6", which is not a number', 'day-of-week takes values 1-7'],
    ['cron(0 6 ? * FUN *)', 'has "FUN", which is not a number', 'SUN-SAT'],
    ['cron(0 6 * * ? 1969)', 'has 1969, outside 1970-2199', 'year takes values 1970-2199'],
    ['cron(0/0 6 * * ? *)', 'has step "0", which must be a positive integer', 'with , - * /'],
    ['cron(0 18-6 * * ? *)', 'has a range that ends before it starts', 'hours takes values'],
    ['cron(? 6 * * ? *)', 'cron minutes field "?" cannot be "?"', 'minutes takes values'],
    [
      'every 5 minutes',
      '"every 5 minutes" is not a schedule expression',
      'write "rate(<n> minutes|hours|days)" or "cron(',
    ],
    ['Rate(5 minutes)', 'is not a schedule expression', 'rate(<n>'],
  ])('rejects %s, naming the view, the field and the fix', (expression, message, hint) => {
    expect(() => parseSchedule(expression)).toThrow(ScheduleError);
    expectRejected(view({ schedule: expression }), {
      definition: label,
      field: 'schedule',
      message,
      hint,
    });
  });

  it('accepts a schedule on an offline view and an offline view without a schedule', () => {
    expect(view({ schedule: 'rate(1 day)' })().online).toBe(false);
    expect(view({ online: false })().schedule).toBeUndefined();
  });

  it('rejects an online view without a schedule', () => {
    expectRejected(view({ online: true }), {
      definition: label,
      field: 'schedule',
      message: 'is required when online is true (materialization needs a schedule)',
      hint: 'add e.g. schedule: "rate(6 hours)"',
    });
  });

  it('reports an invalid schedule once on an online view', () => {
    expect(issuesOf(view({ online: true, schedule: 'rate(0 hours)' }))).toEqual([
      {
        definition: label,
        field: 'schedule',
        message: '"rate(0 hours)" must be at least 1 hour',
        hint: 'use "rate(1 hour)" or more',
      },
    ]);
  });
});
