import { z } from 'zod';

const configSchema = z.object({
  TABLE_NAME: z.string().min(3),
  MAX_ENTITIES: z.coerce.number().int().positive().default(1000),
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(262_144),
  CACHE_TTL_MS: z.coerce.number().int().min(0).default(0),
});

export interface LookupConfig {
  readonly tableName: string;
  readonly maxEntities: number;
  readonly maxBodyBytes: number;
  /** In-process cache lifetime of online items; 0 (the default) turns the cache off. */
  readonly cacheTtlMs: number;
}

/** Reads and validates the function's environment once, at cold start. */
export function readLookupConfig(env: Record<string, string | undefined>): LookupConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`online-lookup configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return {
    tableName: parsed.data.TABLE_NAME,
    maxEntities: parsed.data.MAX_ENTITIES,
    maxBodyBytes: parsed.data.MAX_BODY_BYTES,
    cacheTtlMs: parsed.data.CACHE_TTL_MS,
  };
}
