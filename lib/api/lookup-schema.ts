import { z } from 'zod';

/** `POST /v1/features/{service}` and `POST /v1/feature-views/{view}` bodies. */
export const lookupBodySchema = z.strictObject({
  entities: z
    .array(z.record(z.string(), z.union([z.string(), z.number()])))
    .min(1, 'must list at least one entity'),
  features: z.array(z.string()).min(1, 'must name at least one feature when given').optional(),
});

export const featureValueSchema = z.object({
  value: z
    .unknown()
    .describe(
      'The value, typed as the feature (number, string, boolean, list, ISO timestamp), or null',
    ),
  status: z.enum(['PRESENT', 'NOT_FOUND', 'OUTSIDE_TTL', 'NULL_VALUE']),
  event_timestamp: z.string().nullable().describe('Event time of the value (UTC, microseconds)'),
});

export const lookupResponseSchema = z.object({
  service: z.string().optional(),
  view: z.string().optional(),
  results: z.array(
    z.object({
      entity: z.record(z.string(), z.union([z.string(), z.number()])),
      features: z.record(z.string(), featureValueSchema),
    }),
  ),
});

export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
});

export type LookupBody = z.infer<typeof lookupBodySchema>;
