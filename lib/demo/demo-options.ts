import { z } from 'zod';
import { HintedError } from '../hinted-error.ts';

export const demoFormats = ['parquet', 'csv'] as const;
export type DemoFormat = (typeof demoFormats)[number];

/** Upper bounds that keep a run finite; ids widen past C999999 (C1000000, ...). */
export const maxDemoCustomers = 10_000_000;
export const maxDemoDays = 3650;

const dayMs = 86_400_000;

const positiveWhole = (name: string, max: number) =>
  z
    .number({ error: `${name} must be a positive whole number` })
    .int(`${name} must be a positive whole number`)
    .min(1, `${name} must be a positive whole number`)
    .max(max, `${name} must be at most ${max.toLocaleString('en-US')}`);

export const demoOptionsSchema = z.strictObject({
  /** Number of customers: C000001 ... */
  customers: positiveWhole('customers', maxDemoCustomers),
  /** Days of history ending at `end`. */
  days: positiveWhole('days', maxDemoDays),
  /** Any safe integer; the same seed and options always give the same data. */
  seed: z.number({ error: 'seed must be a whole number' }).int('seed must be a whole number'),
  /** Data covers [end - days, end). */
  end: z.date({ error: 'end must be a valid date' }),
});

export type DemoOptions = z.infer<typeof demoOptionsSchema>;

/** A demo-data option that is missing or out of range; the message names the option. */
export class DemoOptionsError extends HintedError {
  constructor(
    message: string,
    readonly option: string | undefined,
  ) {
    super(message, undefined);
  }
}

/** Midnight UTC of `now`: the default end, so a day's runs produce identical data. */
export function startOfUtcDay(now: Date): Date {
  return new Date(Math.floor(now.getTime() / dayMs) * dayMs);
}

/** Validated options or a {@link DemoOptionsError} such as `customers must be ..., got 0`. */
export function parseDemoOptions(input: unknown): DemoOptions {
  return parseWith(demoOptionsSchema, input);
}

export function parseWith<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw optionsError(parsed.error.issues[0], input);
}

function optionsError(issue: z.core.$ZodIssue | undefined, input: unknown): DemoOptionsError {
  if (!issue) return new DemoOptionsError('invalid demo-data options', undefined);
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((k) => `"${k}"`).join(', ');
    return new DemoOptionsError(`unknown demo-data option ${names}`, issue.keys[0]);
  }
  const key = issue.path[0];
  if (typeof key !== 'string') return new DemoOptionsError(issue.message, undefined);
  const value =
    typeof input === 'object' && input !== null
      ? (input as Record<string, unknown>)[key]
      : undefined;
  return new DemoOptionsError(`${issue.message}, got ${describe(value)}`, key);
}

function describe(value: unknown): string {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null)
    return Array.isArray(value) ? 'a list' : 'an object';
  return String(value);
}
