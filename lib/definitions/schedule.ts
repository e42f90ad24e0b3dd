/**
 * Validation of EventBridge schedule expressions, the only schedule syntax fstore accepts,
 * so the same text works in EventBridge on AWS and in the local scheduler.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */

export type ParsedSchedule =
  | { kind: 'rate'; amount: number; unit: 'minute' | 'hour' | 'day'; intervalSeconds: number }
  | { kind: 'cron'; fields: CronFields };

export interface CronFields {
  minutes: string;
  hours: string;
  dayOfMonth: string;
  month: string;
  dayOfWeek: string;
  year: string;
}

export class ScheduleError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'ScheduleError';
  }
}

const unitSeconds = { minute: 60, hour: 3600, day: 86_400 } as const;
const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const weekdays = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

export function parseSchedule(expression: string): ParsedSchedule {
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) return parseRate(rate[1] ?? '');
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return { kind: 'cron', fields: parseCron(cron[1] ?? '') };
  throw new ScheduleError(
    `"${expression}" is not a schedule expression`,
    'write "rate(<n> minutes|hours|days)" or "cron(<min> <hour> <day-of-month> <month> <day-of-week> <year>)"',
  );
}

function parseRate(body: string): ParsedSchedule {
  const match = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(body.trim());
  if (!match) {
    throw new ScheduleError(
      `"rate(${body})" is not a valid rate`,
      'write "rate(<n> <unit>)" with unit minute(s), hour(s) or day(s), e.g. "rate(6 hours)"',
    );
  }
  const amount = Number(match[1]);
  const word = match[2] ?? '';
  const unit = word.replace(/s$/, '') as keyof typeof unitSeconds;
  if (amount < 1) {
    throw new ScheduleError(
      `"rate(${body})" must be at least 1 ${unit}`,
      `use "rate(1 ${unit})" or more`,
    );
  }
  if (amount === 1 && word.endsWith('s')) {
    throw new ScheduleError(`"rate(${body})" uses a plural unit for 1`, `write "rate(1 ${unit})"`);
  }
  if (amount > 1 && !word.endsWith('s')) {
    throw new ScheduleError(
      `"rate(${body})" uses a singular unit for ${amount}`,
      `write "rate(${amount} ${unit}s)"`,
    );
  }
  return { kind: 'rate', amount, unit, intervalSeconds: amount * unitSeconds[unit] };
}

function parseCron(body: string): CronFields {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleError(
      `"cron(${body})" has ${parts.length} fields; EventBridge cron needs 6`,
      'write "cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)", e.g. "cron(0 6 * * ? *)"',
    );
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  checkField('minutes', minutes, 0, 59, []);
  checkField('hours', hours, 0, 23, []);
  checkField('day-of-month', dayOfMonth, 1, 31, [], { question: true, lastOrWeekday: true });
  checkField('month', month, 1, 12, months);
  checkField('day-of-week', dayOfWeek, 1, 7, weekdays, { question: true, lastOrNth: true });
  checkField('year', year, 1970, 2199, []);
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    throw new ScheduleError(
      `"cron(${body})": exactly one of day-of-month and day-of-week must be "?"`,
      'use "?" in the one you do not constrain, e.g. "cron(0 6 * * ? *)" for daily at 06:00 UTC',
    );
  }
  return { minutes, hours, dayOfMonth, month, dayOfWeek, year };
}

interface FieldOptions {
  question?: boolean;
  lastOrWeekday?: boolean;
  lastOrNth?: boolean;
}

function checkField(
  name: string,
  text: string,
  min: number,
  max: number,
  names: readonly string[],
  options: FieldOptions = {},
): void {
  const fail = (why: string): never => {
    throw new ScheduleError(
      `cron ${name} field "${text}" ${why}`,
      `${name} takes values ${min}-${max}${names.length ? ` or ${names[0]}-${names[names.length - 1]}` : ''}, with , - * /`,
    );
  };
  if (text === '?') {
    if (!options.question) fail('cannot be "?"');
    return;
  }
  const value = (token: string): number => {
    const named = names.indexOf(token.toUpperCase());
    if (named >= 0) return named + 1;
    if (!/^\d+$/.test(token)) return fail(`has "${token}", which is not a number`);
    const n = Number(token);
    if (n < min || n > max) fail(`has ${n}, outside ${min}-${max}`);
    return n;
  };
  for (const part of text.split(',')) {
    if (part === '*') continue;
    if (options.lastOrWeekday && (part === 'L' || /^\d+W$/.test(part))) {
      if (part !== 'L') value(part.slice(0, -1));
      continue;
    }
    if (options.lastOrNth && (/^\w*L$/.test(part) || /^\w+#[1-5]$/.test(part))) {
      // "L" alone is the last day of the week; "6L" the last Friday; "2#1" the first Monday.
      if (part !== 'L') value(part.replace(/(L|#[1-5])$/, ''));
      continue;
    }
    const [range, step, extra] = part.split('/');
    if (extra !== undefined) fail('has more than one "/"');
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) < 1))
      fail(`has step "${step}", which must be a positive integer`);
    if (range === undefined || range === '') {
      fail('is empty');
      continue;
    }
    if (range === '*') continue;
    const [from, to, tooMany] = range.split('-');
    if (tooMany !== undefined) fail('has a malformed range');
    const start = value(from ?? '');
    if (to !== undefined && value(to) < start) fail(`has a range that ends before it starts`);
  }
}
