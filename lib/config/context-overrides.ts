import { isObject } from '../is-object.ts';
import { mergeStageOverrides, StageConfigError, type StageOverrides } from './stages.ts';

/** Reads one CDK context value (`-c key=value` or cdk.json `context`); undefined when unset. */
export type ContextReader = (key: string) => unknown;

/** The `-c` keys that set one stage option each, with the option they set. */
export const stageContextKeys = {
  account: '`account`: 12-digit AWS account id',
  region: '`region`: AWS region',
  alarmEmail: '`alarms.emails`: comma-separated email addresses',
  alarmHttpsEndpoint: '`alarms.httpsEndpoints`: comma-separated https URLs',
  authorization: '`api.authorization`: iam or jwt',
  jwtIssuer: '`api.jwtIssuer`: https URL of the OIDC issuer',
  jwtAudience: '`api.jwtAudience`: comma-separated accepted audiences',
  jwtPushScopes: '`api.jwtPushScopes`: comma-separated scopes a token needs to push',
  jwtLookupScopes: '`api.jwtLookupScopes`: comma-separated scopes a token needs to look up',
  compactPrincipalArn:
    '`compaction.principalArns`: comma-separated IAM ARNs that may assume the CompactionRole',
} as const;

/**
 * The stage overrides that CDK context gives environment `env`, in increasing precedence:
 * `stages.<env>` (an object of stage config fields, usually in cdk.json's `context`; a JSON
 * string on the command line), then the single-option keys of `stageContextKeys`
 * (`-c alarmEmail=oncall@example.com`). Values are validated later, with the stage defaults,
 * by resolveStageConfig; this only refuses context that is not shaped like overrides.
 */
export function stageOverridesFromContext(env: string, read: ContextReader): StageOverrides {
  const fromStages = stageEntry(env, read('stages'));
  const text = (key: keyof typeof stageContextKeys): string | undefined => {
    const value = read(key);
    if (value === undefined || value === null || value === '') return undefined;
    return String(value).trim();
  };
  const list = (key: keyof typeof stageContextKeys): string[] | undefined =>
    text(key)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);

  const account = text('account');
  const region = text('region');
  const emails = list('alarmEmail');
  const httpsEndpoints = list('alarmHttpsEndpoint');
  const authorization = text('authorization');
  const jwtIssuer = text('jwtIssuer');
  const jwtAudience = list('jwtAudience');
  const jwtPushScopes = list('jwtPushScopes');
  const jwtLookupScopes = list('jwtLookupScopes');
  const compactPrincipals = list('compactPrincipalArn');
  const fromKeys = {
    ...(compactPrincipals ? { compaction: { principalArns: compactPrincipals } } : {}),
    ...(account ? { account } : {}),
    ...(region ? { region } : {}),
    ...(emails || httpsEndpoints
      ? { alarms: { ...(emails ? { emails } : {}), ...(httpsEndpoints ? { httpsEndpoints } : {}) } }
      : {}),
    ...(authorization || jwtIssuer || jwtAudience || jwtPushScopes || jwtLookupScopes
      ? {
          api: {
            ...(authorization ? { authorization } : {}),
            ...(jwtIssuer ? { jwtIssuer } : {}),
            ...(jwtAudience ? { jwtAudience } : {}),
            ...(jwtPushScopes ? { jwtPushScopes } : {}),
            ...(jwtLookupScopes ? { jwtLookupScopes } : {}),
          },
        }
      : {}),
  } as StageOverrides;
  return mergeStageOverrides(fromStages, fromKeys);
}

function stageEntry(env: string, stages: unknown): StageOverrides {
  if (stages === undefined || stages === null || stages === '') return {};
  let parsed = stages;
  if (typeof stages === 'string') {
    try {
      parsed = JSON.parse(stages);
    } catch (error) {
      throw new StageConfigError(
        `context "stages": not valid JSON (${(error as Error).message}); expected an object keyed by environment name`,
        { cause: error },
      );
    }
  }
  if (!isObject(parsed))
    throw new StageConfigError(
      'context "stages": must be an object keyed by environment name, e.g. {"prod": {"alarms": {"emails": ["oncall@example.com"]}}}',
    );
  const entry = parsed[env];
  if (entry === undefined) return {};
  if (!isObject(entry))
    throw new StageConfigError(
      `context "stages.${env}": must be an object of stage config fields, got ${JSON.stringify(entry)}`,
    );
  if ('name' in entry)
    throw new StageConfigError(
      `context "stages.${env}.name": the environment name comes from -c env=<name>, not from stages`,
    );
  return entry as StageOverrides;
}
