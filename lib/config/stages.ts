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
 * Built-in stages. `prod` and any name starting with `prod` retain data and turn on deletion
 * protection; every other name (dev, staging, a personal sandbox) takes the dev defaults,
 * which delete data with the stack.
 */
export function defaultStageConfig(name: string): StageConfigInput {
  const base = name === 'prod' || name.startsWith('prod-') ? prodDefaults : devDefaults;
  return { ...base, name, tags: { ...base.tags } };
}

export type StageOverrides = Partial<Omit<StageConfigInput, 'name' | 'offline' | 'api'>> & {
  offline?: Partial<StageConfigInput['offline']>;
  api?: Partial<StageConfigInput['api']>;
};

/** Defaults for `name` merged with `overrides`, validated; the error names the stage and field. */
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
    throw new Error(`stage config "${name}": ${problems.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}
