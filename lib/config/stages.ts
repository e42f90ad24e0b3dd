import { type StageConfig, type StageConfigInput, stageConfigSchema } from './stage-config.ts';

const gib = 1024 ** 3;

const devDefaults: Omit<StageConfigInput, 'name'> = {
  region: 'us-east-1',
  retainData: false,
  deletionProtection: false,
  offline: { athenaBytesScannedCutoffPerQuery: 10 * gib, queryResultsExpirationDays: 7 },
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
  retainData: true,
  deletionProtection: true,
  offline: { athenaBytesScannedCutoffPerQuery: 100 * gib, queryResultsExpirationDays: 30 },
  api: { ...devDefaults.api, throttleRateLimit: 1000, throttleBurstLimit: 2000 },
  logRetentionDays: 365,
};

/**
 * Built-in defaults of the stage `name`.
 *
 * - `prod` and `prod-*` (e.g. `prod-eu`): data retained with the stack deleted, termination and
 *   deletion protection on, 100 GiB Athena cutoff per query, API throttle 1000 rps / 2000 burst,
 *   logs kept 365 days.
 * - Any other valid name (`dev`, `staging`, `alice`): dev defaults, which destroy data with the
 *   stack, no deletion protection, 10 GiB Athena cutoff, API throttle 100 rps / 200 burst, logs
 *   kept 30 days.
 *
 * Both: region `us-east-1`, no account (environment-agnostic stacks), IAM authorization, at most
 * 1000 entities per lookup, no alarm email, no extra tags.
 */
export function defaultStageConfig(name: string): StageConfigInput {
  const base = name === 'prod' || name.startsWith('prod-') ? prodDefaults : devDefaults;
  return { ...base, name, tags: { ...base.tags } };
}

/** A stage config that fails validation; the message names the stage and each bad field. */
export class StageConfigError extends Error {}

/** Fields to change on top of a stage's defaults; nested objects merge field by field. */
export type StageOverrides = Partial<Omit<StageConfigInput, 'name' | 'offline' | 'api'>> & {
  readonly offline?: Partial<StageConfigInput['offline']>;
  readonly api?: Partial<StageConfigInput['api']>;
};

/**
 * Defaults for `name` merged with `overrides`, validated and deeply frozen. Throws a
 * StageConfigError naming the stage and every bad field, e.g.
 * `stage config "prod": api.throttleRateLimit: must be a positive number`.
 */
export function resolveStageConfig(name: string, overrides: StageOverrides = {}): StageConfig {
  const base = defaultStageConfig(name);
  const merged = {
    ...base,
    ...overrides,
    offline: { ...base.offline, ...overrides.offline },
    api: { ...base.api, ...overrides.api },
    tags: { ...base.tags, ...overrides.tags },
  };
  const parsed = stageConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`,
    );
    throw new StageConfigError(`stage config "${name}": ${problems.join('; ')}`);
  }
  return parsed.data;
}
