import { z } from 'zod';

export const demoFormats = ['parquet', 'csv'] as const;
export type DemoFormat = (typeof demoFormats)[number];

const dayMs = 86_400_000;

export const demoOptionsSchema = z.strictObject({
  customers: z
    .number({ error: 'customers must be a number' })
    .int('customers must be a whole number')
    .positive('customers must be at least 1')
    .max(10_000_000, 'customers must be at most 10,000,000'),
  days: z
    .number({ error: 'days must be a number' })
    .int('days must be a whole number')
    .positive('days must be at least 1')
    .max(3650, 'days must be at most 3650'),
  seed: z.number({ error: 'seed must be a number' }).int('seed must be a whole number'),
  /** Data covers [end - days, end). */
  end: z.date({ error: 'end must be a valid date' }),
});

export type DemoOptions = z.infer<typeof demoOptionsSchema>;

/** Midnight UTC of `now`: the default end, so a day's runs produce identical data. */
export function startOfUtcDay(now: Date): Date {
  return new Date(Math.floor(now.getTime() / dayMs) * dayMs);
}

export function parseDemoOptions(input: unknown): DemoOptions {
  const parsed = demoOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = issue?.path[0];
  const value =
    typeof key === 'string' ? (input as Record<string, unknown> | null)?.[key] : undefined;
  const got =
    value instanceof Date
      ? `, got ${String(value)}`
      : value !== undefined
        ? `, got ${JSON.stringify(value)}`
        : '';
  throw new RangeError(`${issue?.message ?? 'invalid demo-data options'}${got}`);
}
