import { z } from 'zod';

/** `{ "<source>": <retention seconds>, ... }`: the sources with a retention (theirs or the env's). */
const retentionsSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.number().int().positive()));

/** `{ "<source>": "offline/<source>/", ... }`: the registry's S3 prefix of each source. */
const prefixesSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string(),
      z
        .string()
        .regex(/^[A-Za-z0-9_=-]+(\/[A-Za-z0-9_=-]+)*\/$/, 'a key prefix such as offline/orders/'),
    ),
  );

/** `{ "<source>": "<event-time column>", ... }`: what the boundary day's rewrite compares. */
const timestampFieldsSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string(), z.string().regex(/^[a-z][a-z0-9_]*$/)));

const configSchema = z
  .object({
    OFFLINE_BUCKET: z.string().min(3),
    /** Set at synth from the registry and the stage's offline.retention. */
    RETENTIONS: retentionsSchema,
    /** Set at synth from the registry (each source's `offline.s3Prefix`). */
    OFFLINE_PREFIXES: prefixesSchema,
    /**
     * Set at synth from the registry: each source's event-time column. Present, the boundary
     * day is rewritten without its older rows (the function's image carries DuckDB).
     */
    TIMESTAMP_FIELDS: timestampFieldsSchema.optional(),
    /** Set by Lambda. */
    AWS_REGION: z.string().min(1).optional(),
  })
  .superRefine((config, ctx) => {
    for (const source of Object.keys(config.RETENTIONS))
      if (config.OFFLINE_PREFIXES[source] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['OFFLINE_PREFIXES'],
          message: `no prefix for source "${source}"`,
        });
    if (config.TIMESTAMP_FIELDS === undefined) return;
    for (const source of Object.keys(config.RETENTIONS))
      if (config.TIMESTAMP_FIELDS[source] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['TIMESTAMP_FIELDS'],
          message: `no event-time column for source "${source}"`,
        });
    if (!config.AWS_REGION)
      ctx.addIssue({
        code: 'custom',
        path: ['AWS_REGION'],
        message: 'the boundary rewrite needs the region (Lambda sets it)',
      });
  });

export interface RetentionConfig {
  readonly bucket: string;
  /** Source → retention in seconds. */
  readonly retentions: Readonly<Record<string, number>>;
  /** Source → its data prefix in the bucket (the registry's `offline.s3Prefix`). */
  readonly prefixes: Readonly<Record<string, string>>;
  /** Source → its event-time column; absent: the boundary day is kept whole. */
  readonly timestampFields?: Readonly<Record<string, string>>;
  readonly region?: string;
}

/** Reads and validates the function's environment once, at cold start. */
export function readRetentionConfig(env: Record<string, string | undefined>): RetentionConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? '');
    const given = env[name] !== undefined ? `, not ${JSON.stringify(env[name])}` : '';
    throw new Error(`retention configuration: ${name}: ${issue?.message}${given}`);
  }
  return {
    bucket: parsed.data.OFFLINE_BUCKET,
    retentions: parsed.data.RETENTIONS,
    prefixes: parsed.data.OFFLINE_PREFIXES,
    ...(parsed.data.TIMESTAMP_FIELDS ? { timestampFields: parsed.data.TIMESTAMP_FIELDS } : {}),
    ...(parsed.data.AWS_REGION ? { region: parsed.data.AWS_REGION } : {}),
  };
}
