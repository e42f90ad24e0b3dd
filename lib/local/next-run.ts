import { CronExpressionParser } from 'cron-parser';
import { parseSchedule } from '../definitions/index.ts';

/**
 * The next time after `after` that an EventBridge schedule expression fires, in UTC, as
 * EventBridge would: `rate(...)` counts from `anchor` (when the scheduler started), `cron(...)`
 * uses EventBridge's fields (day-of-week 1 = Sunday, a year field), translated for cron-parser.
 */
export function nextRun(expression: string, after: Date, anchor: Date = after): Date {
  const schedule = parseSchedule(expression);
  if (schedule.kind === 'rate') {
    const interval = schedule.intervalSeconds * 1000;
    const elapsed = Math.max(0, after.getTime() - anchor.getTime());
    return new Date(anchor.getTime() + (Math.floor(elapsed / interval) + 1) * interval);
  }
  const { minutes, hours, dayOfMonth, month, dayOfWeek, year } = schedule.fields;
  const unixCron = [
    minutes,
    hours,
    dayOfMonth.replace('?', '*'),
    month,
    toUnixDayOfWeek(dayOfWeek),
  ].join(' ');
  // Jump from allowed year to allowed year rather than stepping through every fire time.
  for (let y = after.getUTCFullYear(); y <= 2199; y++) {
    if (!yearMatches(year, y)) continue;
    const from = y === after.getUTCFullYear() ? after : new Date(Date.UTC(y, 0, 1) - 1);
    const next = CronExpressionParser.parse(unixCron, { currentDate: from, tz: 'UTC' })
      .next()
      .toDate();
    if (next.getUTCFullYear() === y) return next;
  }
  throw new Error(`${expression} does not fire again after ${after.toISOString()}`);
}

/** EventBridge counts days of the week 1-7 from Sunday; Unix cron 0-6 from Sunday. */
function toUnixDayOfWeek(field: string): string {
  if (field === '?') return '*';
  return field.replace(/\d+/g, (digits, offset: number, whole: string) =>
    whole[offset - 1] === '#' ? digits : String(Number(digits) - 1),
  );
}

function yearMatches(field: string, year: number): boolean {
  if (field === '*') return true;
  return field.split(',').some((part) => {
    const [range, step] = part.split('/');
    const [from, to] = (range ?? '').split('-');
    const start = range === '*' ? 1970 : Number(from);
    const end = to !== undefined ? Number(to) : step !== undefined || range === '*' ? 2199 : start;
    return year >= start && year <= end && (year - start) % Number(step ?? 1) === 0;
  });
}

/**
 * The longest gap between consecutive fires of an EventBridge schedule expression, in seconds:
 * a rate's interval, or the largest of the next 50 gaps of a cron (from a fixed date, so the
 * result does not depend on when it is computed).
 */
export function longestIntervalSeconds(expression: string): number {
  const schedule = parseSchedule(expression);
  if (schedule.kind === 'rate') return schedule.intervalSeconds;
  let previous = nextRun(expression, new Date(Date.UTC(2030, 0, 1)));
  let longest = 0;
  for (let i = 0; i < 50; i++) {
    const next = nextRun(expression, previous);
    longest = Math.max(longest, (next.getTime() - previous.getTime()) / 1000);
    previous = next;
  }
  return longest;
}
