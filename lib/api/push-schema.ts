import * as z from 'zod/mini';
import { pushTargets } from '../push/push-target.ts';

/*
 * `POST /v1/push/{source}`'s shapes for the OpenAPI document only (openapi.ts): the push handler
 * checks bodies by hand (push-body.ts, validate-push-rows.ts); a test holds these to what it
 * accepts and answers.
 */

/** `{ "rows": [ {...} ], "to"?: ... }`; each row is checked against the source's schema. */
export const pushBodySchema = z.strictObject({
  rows: z.array(z.record(z.string(), z.unknown())).check(z.minLength(1)),
  to: z.optional(z.enum(pushTargets)),
});

const viewCounts = z.object({
  view: z.string(),
  written: z.number(),
  skippedAsOlder: z.number(),
});

/** The 200 answer: rows pushed, online counts per view, offline rows stored. */
export const pushAnswerSchema = z.object({
  source: z.string(),
  rows: z.number(),
  to: z.enum(pushTargets),
  online: z.optional(
    z.object({
      written: z.number(),
      skippedAsOlder: z.number(),
      views: z.array(viewCounts),
      tiles: z.optional(
        z.array(
          z.object({
            view: z.string(),
            added: z.number(),
            alreadyCounted: z.number(),
            outsideWindows: z.number(),
          }),
        ),
      ),
      notUpdated: z.array(z.object({ view: z.string(), reason: z.string() })),
    }),
  ),
  offline: z.optional(z.object({ rows: z.number(), visible: z.literal('after compaction') })),
});
