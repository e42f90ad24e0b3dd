import * as z from 'zod/mini';
import { jsonKind } from './json-kind.ts';

/*
 * The API's shapes for the OpenAPI document (openapi.ts), loaded only when it is asked for:
 * requests are checked by hand (check-lookup-body.ts), so the lookup Lambda builds no schema at
 * cold start (ADR 0014). lookupBodySchema is that check's reference: a test holds the two to the
 * same first problem, message and JSON path, so each rule here names its own message (zod/mini
 * has no locale).
 */

type Issue = z.core.$ZodRawIssue;

const isMissing = (issue: Issue) => issue.input === undefined;

const joinKeyValue = z
  .union([z.string(), z.number(), z.boolean()], {
    error: (issue) => `must be a string, a number or a boolean, got ${jsonKind(issue.input)}`,
  })
  .check(
    z.describe(
      "A join key's value: text for a string key; a whole number for an int32 key; for an int64 key a whole number within ±(2^53 - 1), or a decimal string (optional leading '-') anywhere in the int64 range. Send an int64 beyond 2^53 as a decimal string: a JSON number there has lost digits and is refused (400 INVALID_JOIN_KEY). Beside the join keys, a service with on-demand views takes each entity's request values (number, string or boolean, typed by the view; 400 MISSING_REQUEST_VALUE or INVALID_REQUEST_VALUE naming the entity and field)",
    ),
  );

const entity = z.record(z.string(), joinKeyValue, {
  error: (issue) => `must be an object of join keys, got ${jsonKind(issue.input)}`,
});

/** `POST /v1/features/{service}` and `POST /v1/feature-views/{view}` bodies. */
export const lookupBodySchema = z.strictObject(
  {
    entities: z
      .array(entity, {
        error: (issue) =>
          isMissing(issue) ? 'is required' : `must be a list, got ${jsonKind(issue.input)}`,
      })
      .check(z.minLength(1, 'must list at least one entity')),
    features: z.optional(
      z
        .array(z.string({ error: (issue) => `must be a string, got ${jsonKind(issue.input)}` }), {
          error: (issue) => `must be a list of feature names, got ${jsonKind(issue.input)}`,
        })
        .check(z.minLength(1, 'must name at least one feature when given')),
    ),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.map((k) => `"${k}"`).join(', ')} is not an accepted key; accepted: entities, features`
        : `must be an object with an "entities" list, got ${jsonKind(issue.input)}`,
  },
);

export const featureValueSchema = z.object({
  value: z
    .unknown()
    .check(
      z.describe(
        'The value, typed as the feature (number, string, boolean, list, ISO timestamp), or null',
      ),
    ),
  status: z.enum(['PRESENT', 'NOT_FOUND', 'OUTSIDE_TTL', 'NULL_VALUE', 'TRANSFORM_ERROR']),
  event_timestamp: z
    .nullable(z.string())
    .check(z.describe('Event time of the value (UTC, microseconds); null for on-demand features')),
  error: z.optional(
    z
      .string()
      .check(
        z.describe(
          'TRANSFORM_ERROR only: why the on-demand transform gave no value (it threw, or returned a value its view does not declare)',
        ),
      ),
  ),
});

const entityInResponse = z.record(
  z.string(),
  z
    .union([z.string(), z.number()])
    .check(z.describe('A join key as it was sent: a decimal string stays a string')),
);

export const lookupResponseSchema = z.object({
  service: z.optional(z.string()),
  view: z.optional(z.string()),
  results: z.array(
    z.object({
      entity: entityInResponse,
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
