import { z } from 'zod';
import { parseDuration } from '../definitions/duration.ts';
import { parseSchedule, ScheduleError } from '../definitions/schedule.ts';
import { longestIntervalSeconds } from '../local/next-run.ts';

const tagsSchema = z
  .record(z.string(), z.string().max(256, 'tag values are at most 256 characters'))
  .superRefine((tags, ctx) => {
    for (const key of Object.keys(tags)) {
      const problem = tagKeyProblem(key);
      if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    }
  })
  .readonly();

function tagKeyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > 128) return 'tag keys are 1 to 128 characters';
  if (key.toLowerCase().startsWith('aws:')) return 'tag keys may not start with "aws:"';
  return undefined;
}

/** One OAuth 2.0 scope token (RFC 6749 §3.3): printable ASCII without space, `"` or `\`. */
const oauthScope = z
  .string()
  .regex(
    /^[\x21\x23-\x5B\x5D-\x7E]+$/,
    'must be one OAuth scope, e.g. "fstore/push" (no spaces or quotes)',
  );

/** Days before objects under a prefix expire, or `never`. */
const expiryDays = z.union([
  z.number().int().positive('must be a positive number of days or "never"'),
  z.literal('never'),
]);

const apiSchema = z
  .strictObject({
    /** `iam`: every route needs SigV4-signed requests; `jwt`: a JWT authorizer. */
    authorization: z.enum(['iam', 'jwt']),
    /** OIDC issuer of the JWT authorizer; required when `authorization` is `jwt`. */
    jwtIssuer: z.url({ protocol: /^https$/, message: 'must be an https URL' }).optional(),
    /** Accepted `aud` claims of the JWT authorizer; required when `authorization` is `jwt`. */
    jwtAudience: z.array(z.string().min(1)).readonly().optional(),
    /**
     * Scopes a JWT must carry (any one of them) to call `POST /v1/push/{source}`; required when
     * `authorization` is `jwt`, so a token issued for lookups cannot push.
     */
    jwtPushScopes: z.array(oauthScope).readonly().optional(),
    /**
     * Scopes a JWT must carry (any one of them) to call the lookup, registry, health and
     * OpenAPI routes; absent: any token of the issuer and audience may read.
     */
    jwtLookupScopes: z.array(oauthScope).readonly().optional(),
    /** Steady-state requests per second of the API stage. */
    throttleRateLimit: z.number().positive('must be a positive number'),
    /** Request burst of the API stage. */
    throttleBurstLimit: z.number().int().positive('must be a positive integer'),
    /** Largest number of entities one lookup request may ask for. */
    maxEntitiesPerRequest: z.number().int().positive().max(10_000),
    /**
     * Concurrent executions reserved for the lookup function; absent: none reserved (it shares
     * the account's unreserved pool).
     */
    reservedConcurrency: z.number().int().min(1, 'must be at least 1').optional(),
  })
  .superRefine((api, ctx) => {
    if (api.authorization !== 'jwt') return;
    if (!api.jwtIssuer) {
      ctx.addIssue({
        code: 'custom',
        path: ['jwtIssuer'],
        message: 'required when authorization is "jwt"',
      });
    }
    if (!api.jwtAudience?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['jwtAudience'],
        message: 'required when authorization is "jwt"',
      });
    }
    // Refused rather than defaulted or the push route dropped: without a scope of its own every
    // lookup token could push, and a silently missing route would surface only as producers' 404s.
    if (!api.jwtPushScopes?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['jwtPushScopes'],
        message:
          'required when authorization is "jwt": the OAuth scopes a token needs to push, e.g. ["fstore/push"] (without them every lookup token could push)',
      });
    }
    const pushScopes = new Set(api.jwtPushScopes ?? []);
    for (const scope of api.jwtLookupScopes ?? [])
      if (pushScopes.has(scope))
        ctx.addIssue({
          code: 'custom',
          path: ['jwtLookupScopes'],
          message: `"${scope}" is also a push scope; a lookup scope must not let a token push, nor a push scope let it read`,
        });
  })
  .readonly();

/**
 * Everything that differs between environments, validated once in bin/app.ts and passed to
 * stacks as typed props. Built-in defaults live in `stages.ts`.
 */
export const stageConfigSchema = z
  .strictObject({
    /** Environment name: `-c env=<name>`; stacks are named `fstore-<name>`. */
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,31}$/,
        'must be lower-case letters, digits and "-", starting with a letter',
      ),
    /** Target account; when absent the stacks are environment-agnostic. */
    account: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1'),
    /**
     * A production stage: synth warns when its alarms reach nobody. True for `prod` and `prod-*`.
     */
    production: z.boolean(),
    /**
     * Removal policy of stateful resources (buckets, table, log groups, dead-letter queue): retain
     * when true; else destroy, buckets with their objects.
     */
    retainData: z.boolean(),
    /** CloudFormation termination protection and DynamoDB deletion protection. */
    deletionProtection: z.boolean(),
    offline: z
      .strictObject({
        /** Athena workgroup limit on bytes scanned by one query. */
        athenaBytesScannedCutoffPerQuery: z
          .number()
          .int()
          .min(10 * 1024 * 1024, 'must be at least 10 MiB (the Athena minimum)'),
        /** Days before Athena query results (`athena-results/`) expire. */
        queryResultsExpirationDays: z.number().int().positive('must be a positive number of days'),
        /** Days before training-set entity rows (`requests/`) expire; replaying a set needs them. */
        requestsExpirationDays: expiryDays,
        /** Days before UNLOADed training sets (`training-sets/`) expire. */
        trainingSetsExpirationDays: expiryDays,
        /** Days before quarantined rows of materialization (`quarantine/`) expire. */
        quarantineExpirationDays: expiryDays,
        /**
         * Retention of every source that declares none (`fstore retention`, the scheduled
         * retention job): a duration such as "730d". Absent (the default): such sources keep
         * their rows forever.
         */
        retention: z
          .string()
          .refine((text) => parseDuration(text) !== undefined, {
            error: (issue) =>
              `${JSON.stringify(issue.input)} is not a duration: write a positive whole number and a unit s, m, h, d or w, e.g. "730d"; leave it out to keep rows forever`,
          })
          .optional(),
      })
      .readonly(),
    api: apiSchema,
    /** Scheduled offline → online runs; every field has a default. */
    materialization: z
      .strictObject({
        /** How far before the watermark each run looks again for late rows. */
        allowedLatenessSeconds: z.number().int().min(0).default(3600),
        /** Conditional writes in flight per run. */
        writeConcurrency: z.number().int().min(1).max(256).default(32),
        /** EventBridge Scheduler retries of a failed invocation before the dead-letter queue. */
        retryAttempts: z.number().int().min(0).max(185).default(2),
        /** How long Scheduler keeps retrying one scheduled run. */
        maxEventAgeSeconds: z.number().int().min(60).max(86_400).default(3600),
        /**
         * Concurrent executions reserved for the materializer; absent: one per online view (a
         * lease allows one run per view) plus one for a continuation or a backfill.
         */
        reservedConcurrency: z.number().int().min(1, 'must be at least 1').optional(),
        /**
         * Sharded runs on AWS (issue 21, docs/scale.md): each view named here is scheduled
         * through a Step Functions state machine that sends a run estimated under `minRows`
         * to the materializer function as before, and splits a larger one into `shards` by a
         * hash of the entity key, one Athena UNLOAD and a Distributed Map of shard writers.
         * Off by default (no views): below a few million rows one function is fast enough
         * (2,000 rows/s), and sharded writes can outrun a new on-demand table (4,000 write
         * units/s) until it is warm.
         */
        sharding: z
          .strictObject({
            views: z
              .array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a feature view name'))
              .readonly()
              .default([]),
            /** Shards of a new sharded run; at most 64 (one checkpoint each in the state item). */
            shards: z.number().int().min(2).max(64).default(20),
            /** Shard writers running at once (the Distributed Map's MaxConcurrency). */
            maxConcurrency: z.number().int().min(1).max(1000).default(20),
            /** Runs estimated under this many rows stay on the single materializer function. */
            minRows: z.number().int().min(0).default(1_000_000),
            /**
             * Days before the runs' UNLOAD output (`materialize-unload/` of the offline bucket)
             * expires. At least 1: an execution lasts at most 6 hours (the state machine's
             * timeout), so its own output outlives it; a run resumed after that checks its
             * folder against what the UNLOAD wrote and unloads again when objects are gone.
             * Default 7: a failed run resumed within a week pays no second Athena scan.
             */
            unloadExpirationDays: z
              .number()
              .int()
              .min(1, 'must be at least 1 day (an execution can last 6 hours)')
              .max(3650)
              .default(7),
            /**
             * Pre-warms the online table (DynamoDB warm throughput) to this many write units per
             * second, so a first large backfill writes at full speed at once instead of ramping
             * from the 4,000 units/s of a new on-demand table (docs/scale.md). Absent (the
             * default): not set. Warm throughput only rises (DynamoDB refuses a decrease).
             */
            warmWriteUnitsPerSecond: z
              .number()
              .int()
              .min(
                4000,
                'must be at least 4000 (a new on-demand table serves 4,000 write units/s at once)',
              )
              .optional(),
          })
          .readonly()
          .prefault({}),
      })
      .readonly()
      .prefault({}),
    /** Alarm thresholds of the lookup API; every field has a default. */
    monitoring: z
      .strictObject({
        /** p99 latency of the lookup API above which its alarm fires, in milliseconds. */
        lookupP99Ms: z.number().positive().default(250),
        /** Share of lookup requests answered 5xx above which its alarm fires, in percent. */
        lookup5xxPercent: z.number().positive().max(100).default(1),
      })
      .readonly()
      .prefault({}),
    /** Who the alarm topic notifies; nobody by default (a production stage warns at synth). */
    alarms: z
      .strictObject({
        /** Email subscriptions (each address confirms once, by the link SNS sends). */
        emails: z.array(z.email('must be an email address')).readonly().default([]),
        /** HTTPS subscriptions, e.g. a PagerDuty or Opsgenie CloudWatch integration URL. */
        httpsEndpoints: z
          .array(z.url({ protocol: /^https$/, message: 'must be an https URL' }))
          .readonly()
          .default([]),
      })
      .readonly()
      .prefault({}),
    /**
     * The stack's CompactionRole (`fstore compact --env <aws>`) and the scheduled compaction of
     * pushed rows (ADR 0016); every field has a default.
     */
    compaction: z
      .strictObject({
        /**
         * When the push-compaction function runs `fstore compact` over every source: an
         * EventBridge `rate(...)`/`cron(...)` expression (UTC), or `false` for no schedule
         * (pushed rows then wait until someone runs `fstore compact --env <env>`).
         */
        schedule: z
          .union([z.literal(false), z.string()], {
            error: 'must be a rate(...) or cron(...) expression, or false to turn it off',
          })
          .superRefine((expression, ctx) => {
            if (expression === false) return;
            try {
              parseSchedule(expression);
            } catch (error) {
              if (!(error instanceof ScheduleError)) throw error;
              ctx.addIssue({ code: 'custom', message: `${error.message}; ${error.hint}` });
              return;
            }
            // Its alarms judge staged rows by the interval: a day at most per period, and runs
            // closer than 5 minutes overlap (two at a time at most, the rest fail to the DLQ).
            let interval: number;
            try {
              interval = longestIntervalSeconds(expression);
            } catch {
              ctx.addIssue({
                code: 'custom',
                message: `${expression} does not fire regularly (a cron with a fixed year ends); use a rate(...) or a recurring cron(...)`,
              });
              return;
            }
            if (interval < 300 || interval > 12 * 3600)
              ctx.addIssue({
                code: 'custom',
                message: `${expression} runs every ${interval} s at its longest; the compaction of pushed rows must run between every 5 minutes and every 12 hours, e.g. rate(15 minutes)`,
              });
          })
          .default('rate(15 minutes)'),
        /**
         * IAM role, user or account-root ARNs that may assume it. Empty (the default): the
         * stack's own account, where a principal also needs its own `sts:AssumeRole` allow.
         */
        principalArns: z
          .array(
            z
              .string()
              .regex(
                /^arn:aws(-cn|-us-gov)?:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/,
                'must be an IAM role, user or account-root ARN, e.g. arn:aws:iam::111122223333:role/data-eng',
              ),
          )
          .readonly()
          .default([]),
      })
      .readonly()
      .prefault({}),
    /** Retention of Lambda and API access logs, rounded up to a CloudWatch retention period. */
    logRetentionDays: z.number().int().positive('must be a positive number of days'),
    /** Added to every resource, next to `fstore:env`. */
    tags: tagsSchema,
  })
  .readonly();

export type StageConfig = z.infer<typeof stageConfigSchema>;
export type StageConfigInput = z.input<typeof stageConfigSchema>;
