import { isObject } from '../is-object.ts';
import { type StageConfig, type StageConfigInput, stageConfigSchema } from './stage-config.ts';

const gib = 1024 ** 3;

const devDefaults: Omit<StageConfigInput, 'name'> = {
  region: 'us-east-1',
  production: false,
  retainData: false,
  deletionProtection: false,
  offline: {
    athenaBytesScannedCutoffPerQuery: 10 * gib,
    queryResultsExpirationDays: 7,
    requestsExpirationDays: 30,
    trainingSetsExpirationDays: 30,
    quarantineExpirationDays: 30,
  },
  api: {
    authorization: 'iam',
    throttleRateLimit: 100,
    throttleBurstLimit: 200,
    maxEntitiesPerRequest: 1000,
  },
  logRetentionDays: 30,
  tags: {},
};

const prodDefaults: Omit<StageConfigInput, 'name'> = {
  ...devDefaults,
  production: true,
  retainData: true,
  deletionProtection: true,
  offline: {
    athenaBytesScannedCutoffPerQuery: 100 * gib,
    queryResultsExpirationDays: 30,
    requestsExpirationDays: 365,
    trainingSetsExpirationDays: 365,
    quarantineExpirationDays: 90,
  },
  api: { ...devDefaults.api, throttleRateLimit: 1000, throttleBurstLimit: 2000 },
  logRetentionDays: 365,
};

/**
 * Built-in defaults of the stage `name`.
 *
 * - `prod` and `prod-*` (e.g. `prod-eu`): production (synth warns when alarms reach nobody); data,
 *   logs and the dead-letter queue retained with the stack deleted, termination and deletion
 *   protection on, 100 GiB Athena cutoff per query, API throttle 1000 rps / 2000 burst, logs kept
 *   365 days; expiry of `requests/` and `training-sets/` 365 days, `quarantine/` 90,
 *   `athena-results/` 30.
 * - Any other valid name (`dev`, `staging`, `alice`): dev defaults, which destroy data (buckets
 *   emptied) and logs with the stack, no deletion protection, 10 GiB Athena cutoff, API throttle
 *   100 rps / 200 burst, logs kept 30 days; expiry of `requests/`, `training-sets/` and
 *   `quarantine/` 30 days, `athena-results/` 7.
 *
 * Both: region `us-east-1`, no account (environment-agnostic stacks), IAM authorization, at most
 * 1000 entities per lookup, no alarm subscription, no extra tags, no reserved concurrency for
 * lookups and one per online view plus one for the materializer.
 */
export function defaultStageConfig(name: string): StageConfigInput {
  const base = name === 'prod' || name.startsWith('prod-') ? prodDefaults : devDefaults;
  return { ...base, name, tags: { ...base.tags } };
}

/** A stage config that fails validation; the message names the stage and each bad field. */
export class StageConfigError extends Error {}

type NestedKey = 'offline' | 'api' | 'materialization' | 'monitoring' | 'alarms' | 'compaction';

/** Fields to change on top of a stage's defaults; nested objects merge field by field. */
export type StageOverrides = Partial<Omit<StageConfigInput, 'name' | NestedKey>> & {
  readonly [K in NestedKey]?: Partial<NonNullable<StageConfigInput[K]>>;
};

/** `overrides` on top of `base`, one level deep: nested objects merge, arrays replace. */
export function mergeStageOverrides(
  base: StageOverrides,
  overrides: StageOverrides,
): StageOverrides {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const previous = merged[key];
    merged[key] = isObject(previous) && isObject(value) ? { ...previous, ...value } : value;
  }
  return merged as StageOverrides;
}

/**
 * Defaults for `name` merged with `overrides`, validated and deeply frozen. Throws a
 * StageConfigError naming the stage and every bad field, e.g.
 * `stage config "prod": api.throttleRateLimit: must be a positive number`.
 */
export function resolveStageConfig(name: string, overrides: StageOverrides = {}): StageConfig {
  const { name: _name, ...base } = defaultStageConfig(name);
  const merged = { ...mergeStageOverrides(base, overrides), name };
  const parsed = stageConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`,
    );
    throw new StageConfigError(`stage config "${name}": ${problems.join('; ')}`);
  }
  return parsed.data;
}
