import type { Command } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { offlineResourcesOf } from '../../iam/environment-resources.ts';
import { erasureStatements } from '../../iam/erasure-policy.ts';
import { lookupStatements } from '../../iam/lookup-policy.ts';
import {
  bucketArnOf,
  compactStatements,
  ingestStatements,
  trainingStatements,
} from '../../iam/offline-policy.ts';
import { partitionOfRegion } from '../../iam/partition.ts';
import {
  type ArnScope,
  type PolicyDocument,
  type PolicyStatement,
  policyDocument,
} from '../../iam/policy-statement.ts';
import { pushStatements } from '../../iam/push-policy.ts';
import { NoStreamError, streamProducerStatements } from '../../iam/stream-producer-policy.ts';
import { onlineTableName } from '../../online/online-table-name.ts';
import { deployedRegistryKey } from '../../registry/deployed-registry-keys.ts';
import type { Registry } from '../../registry/index.ts';
import { entityRequestTable } from '../../sql/athena-service-query.ts';
import { stackOutputNames } from '../../stacks/stack-output-names.ts';
import { awsRegion } from '../aws-region.ts';
import { CliError, exitCodes, UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { type EnvironmentStackOutputs, requiredOutput } from '../stack-outputs-reader.ts';
import { environmentStackOutputs } from './describe-outputs.ts';

const purposes = [
  'training',
  'lookup',
  'push',
  'stream-producer',
  'ingest',
  'compact',
  'erasure',
] as const;
/** The purposes `--source` narrows. */
const perSource: readonly Purpose[] = ['push', 'stream-producer'];
type Purpose = (typeof purposes)[number];

interface IamPolicyOptions {
  for?: string;
  account?: string;
  region?: string;
  partition?: string;
  bucket?: string;
  apiId?: string;
  source?: string[];
  json?: boolean;
}

/** Entity-request tables, with a warning when they are not the deployed stack's own names. */
interface RequestTables {
  readonly names: readonly string[];
  readonly warnings: readonly string[];
}

/** The names a policy is built from, and where they came from. */
interface PolicyNames {
  readonly scope: ArnScope;
  readonly from: string;
  readonly bucket: () => string;
  readonly apiId: () => string;
  readonly requestTables: (registry: Registry) => RequestTables;
  readonly database?: string;
  readonly workGroup?: string;
  /** The deployed stack (stack outputs only; --account works without it). */
  readonly stack?: EnvironmentStackOutputs;
}

export function registerIamPolicy(program: Command): void {
  program
    .command('iam-policy')
    .description(
      'Print the IAM policy document for a role outside this CDK app: the statements the CDK grants give (training: Athena, Glue, requests/ and training-sets/; lookup: the lookup routes; push: the push route only; stream-producer: writing records to the Kinesis streams of the sources; ingest: ingest --env <aws>; compact: compact --env <aws>; erasure: delete --env <aws>, the statements of the stack’s ErasureOperatorPolicyArn)',
    )
    .option('--for <purpose>', `what the role does: ${purposes.join(', ')}`)
    .option(
      '--account <id>',
      'work offline: the AWS account (12 digits), instead of the stack outputs',
    )
    .option(
      '--region <region>',
      'with --account: the region (default AWS_REGION, else the stage config)',
    )
    .option(
      '--partition <partition>',
      "with --account: the partition (default the region's: aws-cn for cn-*, aws-us-gov for us-gov-*, else aws)",
    )
    .option(
      '--bucket <name>',
      'with --account, for training, ingest and compact: the offline bucket (OfflineBucketName)',
    )
    .option(
      '--api-id <id>',
      'with --account, for lookup and push: the API id (LookupApiId; push is a route of the same API)',
    )
    .option(
      '--source <name...>',
      'with --for push or stream-producer: grant these sources only (default every source; for stream-producer every source with a stream)',
    )
    .option('--json', 'print the policy with where its names came from, as JSON')
    .action(async (options: IamPolicyOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      const purpose = parsePurpose(options.for);
      if (isLocalEnv(ctx.env))
        throw new UsageError(
          `environment "${ctx.env}" is local: it has no IAM`,
          `name an AWS environment, e.g. \`fstore iam-policy --env prod --for ${purpose}\``,
        );
      if (options.source && !perSource.includes(purpose))
        throw new UsageError(
          `--source narrows --for ${perSource.join(' or ')}, not --for ${purpose}`,
          `drop --source, or use --for ${perSource.join(' or ')}`,
        );
      const registry = await ctx.compile();
      const names = options.account ? offlineNames(ctx.env, options) : await stackNames(ctx.env);
      const { statements, notes, warnings } = policyFor(
        purpose,
        registry,
        ctx.env,
        names,
        options.source,
      );
      const document: PolicyDocument = policyDocument(statements);
      for (const warning of warnings) ctx.out.status(`warning: ${warning}`);
      if (options.json) {
        ctx.out.json({
          env: ctx.env,
          for: purpose,
          namesFrom: names.from,
          notes,
          warnings,
          policy: document,
        });
        return;
      }
      for (const note of notes) ctx.out.status(`note: ${note}`);
      ctx.out.line(JSON.stringify(document, null, 2));
    });
}

function parsePurpose(value: string | undefined): Purpose {
  if (value === undefined)
    throw new UsageError(
      'iam-policy needs --for',
      `one of ${purposes.join(', ')}, e.g. \`fstore iam-policy --env prod --for training\``,
    );
  if (!(purposes as readonly string[]).includes(value))
    throw new UsageError(`--for "${value}" is not a purpose`, `use one of ${purposes.join(', ')}`);
  return value as Purpose;
}

function policyFor(
  purpose: Purpose,
  registry: Registry,
  env: string,
  names: PolicyNames,
  sources?: readonly string[],
): { statements: PolicyStatement[]; notes: string[]; warnings: readonly string[] } {
  switch (purpose) {
    case 'training': {
      const resources = offlineResourcesOf(registry, env, names.scope, names.bucket());
      const requestTables = names.requestTables(registry);
      return {
        statements: trainingStatements({
          ...resources,
          requestTables: requestTables.names,
          ...(names.database ? { databaseName: names.database } : {}),
          ...(names.workGroup ? { workGroupName: names.workGroup } : {}),
        }),
        notes: [],
        warnings: requestTables.warnings,
      };
    }
    case 'lookup':
      return { statements: lookupStatements(names.scope, names.apiId()), notes: [], warnings: [] };
    case 'push':
      return {
        statements: pushStatements(names.scope, names.apiId(), knownSources(registry, sources)),
        notes: [
          `execute-api:Invoke on POST /v1/push/${sources?.length ? `{${sources.join(',')}}` : '*'} only: a producer with it cannot look features up (and --for lookup grants no push)`,
        ],
        warnings: [],
      };
    case 'stream-producer': {
      let statements: PolicyStatement[];
      try {
        statements = streamProducerStatements(registry, env, names.scope, sources);
      } catch (error) {
        if (error instanceof NoStreamError) throw new UsageError(error.message, error.hint);
        throw error;
      }
      return {
        statements,
        notes: [
          'kinesis:PutRecord, PutRecords and DescribeStreamSummary on the streams only (no read, no push route); kms:GenerateDataKey only for an imported stream with a kmsKeyArn (a created stream uses alias/aws/kinesis)',
        ],
        warnings: [],
      };
    }
    case 'ingest': {
      const bucketArn = bucketArnOf(names.scope, names.bucket());
      const sources = registry.sources.map((s) => ({ name: s.name, s3Prefix: s.offline.s3Prefix }));
      return {
        statements: ingestStatements(bucketArn, sources),
        notes: [
          'the policy of `fstore ingest --env <aws>` (data under offline/<source>/, commit records under offline/_ingests/<source>/)',
        ],
        warnings: [],
      };
    }
    case 'erasure': {
      const { stack } = names;
      if (!stack)
        throw new UsageError(
          '--for erasure names the stack itself (its ARN), its audit key secret and its artifacts bucket, so it reads the stack outputs',
          `drop --account and its flags: \`fstore iam-policy --env ${env} --for erasure\``,
        );
      const { partition, region, account } = names.scope;
      const artifacts = requiredOutput(stack, 'ArtifactsBucketName');
      return {
        statements: erasureStatements({
          offline: {
            ...offlineResourcesOf(registry, env, names.scope, names.bucket()),
            ...(names.database ? { databaseName: names.database } : {}),
            ...(names.workGroup ? { workGroupName: names.workGroup } : {}),
          },
          sources: registry.sources.map((s) => ({ name: s.name, s3Prefix: s.offline.s3Prefix })),
          tableArn: `arn:${partition}:dynamodb:${region}:${account}:table/${onlineTableName(env)}`,
          stackArn: stack.stackId,
          auditSecretArn: requiredOutput(stack, stackOutputNames.auditKeySecretArn),
          deployedRegistryArn: `${bucketArnOf(names.scope, artifacts)}/${deployedRegistryKey}`,
        }),
        notes: [
          'the policy of `fstore delete --env <aws>`, as the stack publishes it (ErasureOperatorPolicyArn): attach one or the other to whoever may erase',
        ],
        warnings: [],
      };
    }
    case 'compact': {
      const bucketArn = bucketArnOf(names.scope, names.bucket());
      const sources = registry.sources.map((s) => ({ name: s.name, s3Prefix: s.offline.s3Prefix }));
      return {
        statements: compactStatements(bucketArn, sources),
        notes: [
          'the policy of `fstore compact --env <aws>`: merged objects under offline/<source>/, its records and its lock under offline/_ingests/<source>/compactions/ (the lock, _lock.json, is the only key there it may delete), deletes of replaced objects after keepUntil; the stack output CompactionRoleArn is a role with exactly these statements',
        ],
        warnings: [],
      };
    }
  }
}

/** The sources `--source` names, each one of the registry's. */
function knownSources(
  registry: Registry,
  sources: readonly string[] | undefined,
): readonly string[] | undefined {
  const known = registry.sources.map((s) => s.name);
  for (const name of sources ?? [])
    if (!known.includes(name))
      throw new UsageError(`--source "${name}" is not a source`, `sources: ${known.join(', ')}`);
  return sources;
}

async function stackNames(env: string): Promise<PolicyNames> {
  const stack = await environmentStackOutputs(env);
  return {
    scope: stack.scope,
    from: `outputs of stack ${stack.stackName}`,
    bucket: () => requiredOutput(stack, stackOutputNames.offlineBucket),
    apiId: () => requiredOutput(stack, stackOutputNames.lookupApiId),
    requestTables: (registry) => deployedRequestTables(stack, env, registry),
    database: requiredOutput(stack, stackOutputNames.glueDatabase),
    workGroup: requiredOutput(stack, stackOutputNames.athenaWorkGroup),
    stack,
  };
}

/**
 * The request tables of the services the stack deployed (its `Service<Name>RequestTable`
 * outputs), which the local checkout may not match. A stack deployed before fstore published
 * its services falls back to the local definitions, with a warning.
 */
function deployedRequestTables(
  stack: EnvironmentStackOutputs,
  env: string,
  registry: Registry,
): RequestTables {
  const services = Object.entries(stack.services);
  const check = `check them with \`fstore describe --env ${env} --outputs\`, or redeploy this version of fstore`;
  if (services.length === 0) {
    const local = localRequestTables(registry);
    return {
      names: local,
      warnings: [
        `stack ${stack.stackName} has no Service<Name>Statement outputs: the request tables are named from the local definitions (${local.join(', ') || 'none'}), which may not be what is deployed; ${check}`,
      ],
    };
  }
  const unnamed = services.filter(([, outputs]) => !outputs.requestTable).map(([name]) => name);
  return {
    names: services
      .map(([name, outputs]) => outputs.requestTable ?? entityRequestTable(name))
      .sort(),
    warnings:
      unnamed.length === 0
        ? []
        : [
            `stack ${stack.stackName} has no RequestTable output for ${unnamed.join(', ')}: named by fstore's rule (fstore_requests_<service>); ${check}`,
          ],
  };
}

const localRequestTables = (registry: Registry) =>
  registry.featureServices.map((s) => entityRequestTable(s.name)).sort();

function offlineNames(env: string, options: IamPolicyOptions): PolicyNames {
  const account = options.account ?? '';
  if (!/^\d{12}$/.test(account))
    throw new UsageError(`--account "${account}" is not an AWS account id`, 'give its 12 digits');
  const region = options.region ?? awsRegion(env);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
    throw new UsageError(`--region "${region}" is not an AWS region`, 'e.g. eu-west-1');
  const partition = partitionOfRegion(region);
  if (options.partition !== undefined && options.partition !== partition)
    throw new UsageError(
      `--partition "${options.partition}" does not match region ${region}, which is in partition ${partition}`,
      `drop --partition (it follows the region), or give the region of partition ${options.partition}`,
    );
  const missing = (flag: string, output: string) =>
    new CliError(`--account works offline, so it needs ${flag}`, {
      hint: `its value is the stack output ${output} (\`fstore describe --env ${env} --outputs\`), or drop --account to read it from the stack`,
      exitCode: exitCodes.usage,
    });
  return {
    scope: { partition, region, account },
    from: 'command-line flags and the registry',
    bucket: () => {
      if (!options.bucket) throw missing('--bucket', stackOutputNames.offlineBucket);
      return options.bucket;
    },
    apiId: () => {
      if (!options.apiId) throw missing('--api-id', stackOutputNames.lookupApiId);
      return options.apiId;
    },
    requestTables: (registry) => {
      const local = localRequestTables(registry);
      return {
        names: local,
        warnings: [
          `--account works offline: the request tables are named from the local definitions (${local.join(', ') || 'none'}), which may not be what is deployed; drop --account to read them from the stack`,
        ],
      };
    },
  };
}
