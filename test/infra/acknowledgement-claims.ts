import { Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';

/** One cdk-nag acknowledgement as recorded on a construct. */
export interface Acknowledgement {
  readonly path: string;
  readonly logicalId: string | undefined;
  readonly id: string;
  readonly reason: string;
}

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * Actions on object ARNs that an acknowledged prefix wildcard may carry: no wildcards, and no
 * deletes unless its acknowledgement's reason declares `s3:DeleteObject` (compaction's cleanup).
 */
const objectActions = new Set([
  's3:GetObject',
  's3:PutObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
]);
/** Object-version actions, allowed on a prefix whose reason declares `s3:DeleteObjectVersion`. */
const versionActions = new Set(['s3:GetObjectVersion', 's3:DeleteObjectVersion']);
/** Listing keys (or their versions), limited by `s3:prefix` to acknowledged prefixes. */
const listActions = new Set(['s3:ListBucket', 's3:ListBucketVersions']);
/** Bucket-level actions that take no prefix condition and read no object (Athena's result location). */
const bucketMetadataActions = new Set(['s3:GetBucketLocation', 's3:ListBucketMultipartUploads']);

/**
 * Every cdk-nag (AwsSolutions) acknowledgement under `root`, with the logical id of the
 * construct's CFN resource. CDK's own acknowledgements of its CloudFormation checks are left out.
 */
export function acknowledgementsUnder(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          logicalId: logicalIdOf(construct),
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      )
      .filter((ack) => ack.id.startsWith('AwsSolutions-')),
  );
}

function logicalIdOf(construct: IConstruct): string | undefined {
  const resource = construct.node.defaultChild ?? construct;
  try {
    return Stack.of(construct).resolve((resource as unknown as { logicalId: string }).logicalId);
  } catch {
    return undefined;
  }
}

/**
 * The acknowledgements under `root` whose claim the synthesized template contradicts, each as
 * a sentence; an acknowledgement of a kind with no check here is reported too, so a new one
 * cannot go unchecked.
 */
export function falseAcknowledgements(root: IConstruct, template: Template): string[] {
  const resources = template.toJSON().Resources as Resources;
  const problems: string[] = [];
  const byConstruct = new Map<string, Acknowledgement[]>();
  for (const ack of acknowledgementsUnder(root))
    byConstruct.set(ack.path, [...(byConstruct.get(ack.path) ?? []), ack]);
  for (const acks of byConstruct.values()) {
    const prefixAcks = acks.flatMap((ack) => {
      const match =
        /^AwsSolutions-IAM5\[Resource::<(\w+)\.Arn>\/((?:[a-z_-]+\/)*[a-z_-]+)\/\*\]$/.exec(ack.id);
      return match ? [{ ack, bucket: match[1] as string, prefix: `${match[2]}/` }] : [];
    });
    if (prefixAcks.length > 0) problems.push(...checkPrefixClaims(prefixAcks, resources));
    for (const ack of acks) {
      if (prefixAcks.some((p) => p.ack === ack)) continue;
      if (ack.id === 'AwsSolutions-SQS3') problems.push(...checkDeadLetterClaim(ack, resources));
      else if (ack.id === 'AwsSolutions-SMG4')
        problems.push(...checkNotRotatedClaim(ack, resources));
      else if (ack.id === 'AwsSolutions-IAM5[Resource::*]')
        problems.push(...checkUnscopedActionsClaim(ack, resources));
      else if (ack.id.startsWith(executionWildcard))
        problems.push(...checkOwnExecutionsClaim(ack, resources));
      else problems.push(`${ack.path}: no check for acknowledgement ${ack.id}; add one`);
    }
  }
  return problems;
}

/**
 * "Objects under the <prefix> prefix ...; nothing outside the prefix is granted": every
 * statement of the role on that bucket is on objects under an acknowledged prefix with object
 * actions only, or a ListBucket limited by s3:prefix to those prefixes, or bucket metadata.
 */
function checkPrefixClaims(
  prefixAcks: { ack: Acknowledgement; bucket: string; prefix: string }[],
  resources: Resources,
): string[] {
  const [first] = prefixAcks;
  if (!first) return [];
  const role = first.ack.logicalId;
  const documentOf = (r: Resources[string]) =>
    (r.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? [];
  // Acknowledged on a managed policy: its own statements; on a role: the policies attached to it.
  const own = role === undefined ? undefined : resources[role];
  const statements =
    own?.Type === 'AWS::IAM::ManagedPolicy'
      ? documentOf(own)
      : Object.values(resources)
          .filter((r) => r.Type === 'AWS::IAM::Policy')
          .filter((r) => JSON.stringify(r.Properties?.Roles ?? []).includes(`"${role}"`))
          .flatMap(documentOf);
  const problems: string[] = [];
  for (const { ack, prefix } of prefixAcks)
    if (!ack.reason.includes(prefix))
      problems.push(`${ack.path}: the reason of ${ack.id} does not name ${prefix}`);
  for (const bucket of new Set(prefixAcks.map((p) => p.bucket))) {
    const arn = JSON.stringify({ 'Fn::GetAtt': [bucket, 'Arn'] });
    const allowed = prefixAcks.filter((p) => p.bucket === bucket).map((p) => p.prefix);
    const deletesDeclared = prefixAcks
      .filter((p) => p.bucket === bucket && p.ack.reason.includes('s3:DeleteObject '))
      .map((p) => p.prefix);
    const versionDeletesDeclared = prefixAcks
      .filter((p) => p.bucket === bucket && p.ack.reason.includes('s3:DeleteObjectVersion'))
      .map((p) => p.prefix);
    for (const prefix of allowed)
      if (!statements.some((s) => asList(s.Resource).some((r) => objectPrefix(r, arn) === prefix)))
        problems.push(`${first.ack.path}: acknowledges ${prefix} of ${bucket}, granted nowhere`);
    for (const statement of statements) {
      const onBucket = asList(statement.Resource).filter((r) => JSON.stringify(r).includes(arn));
      if (onBucket.length === 0) continue;
      const actions = asList(statement.Action);
      for (const resource of onBucket) {
        const key = objectKey(resource, arn);
        // One object's key (no wildcard, so no IAM5 finding): it must lie under an acknowledged prefix.
        const prefix =
          objectPrefix(resource, arn) ??
          (key === undefined ? undefined : (deepestPrefix(allowed, key) ?? key));
        if (prefix !== undefined) {
          if (!allowed.includes(prefix))
            problems.push(
              `${first.ack.path}: objects under ${prefix} of ${bucket} are granted but not acknowledged`,
            );
          const extra = actions.filter(
            (a) =>
              !objectActions.has(a) &&
              !(a === 's3:DeleteObject' && deletesDeclared.includes(prefix)) &&
              !(versionActions.has(a) && versionDeletesDeclared.includes(prefix)),
          );
          if (extra.length > 0)
            problems.push(`${first.ack.path}: ${prefix} of ${bucket} carries ${extra.join(', ')}`);
        } else if (JSON.stringify(resource) === arn) {
          problems.push(...checkBucketStatement(first.ack.path, bucket, statement, allowed));
        } else {
          problems.push(`${first.ack.path}: unexpected resource ${JSON.stringify(resource)}`);
        }
      }
    }
  }
  return problems;
}

function checkBucketStatement(
  path: string,
  bucket: string,
  statement: Statement,
  allowed: string[],
): string[] {
  const actions = asList(statement.Action);
  if (actions.every((a) => bucketMetadataActions.has(a)) && !statement.Condition) return [];
  if (actions.length === 1 && listActions.has(actions[0] ?? '')) {
    const conditionKeys = Object.keys(statement.Condition ?? {});
    // Listing exact folders by name (StringEquals has no wildcard): key names of those folders
    // only, no object read, no IAM5 finding to acknowledge (the push compaction counts
    // offline/_push-errors/<source>/ this way).
    const exact = asList(statement.Condition?.StringEquals?.['s3:prefix'] as string | string[]);
    if (conditionKeys.join() === 'StringEquals' && exact.length > 0)
      return exact.every((p) => p.endsWith('/') && !p.includes('*'))
        ? []
        : [
            `${path}: s3:ListBucket of ${bucket} by exact prefixes that are not folders: ${exact.join(', ')}`,
          ];
    const prefixes = asList(statement.Condition?.StringLike?.['s3:prefix'] as string | string[]);
    const outside = prefixes.filter((p) => !allowed.some((a) => p === `${a}*`));
    if (conditionKeys.join() !== 'StringLike' || prefixes.length === 0)
      return [`${path}: s3:ListBucket on all of ${bucket}, not limited by s3:prefix`];
    if (outside.length > 0)
      return [
        `${path}: s3:ListBucket of ${bucket} reaches unacknowledged prefixes ${outside.join(', ')}`,
      ];
    return [];
  }
  return [`${path}: bucket-level ${actions.join(', ')} on ${bucket} beyond listing its prefixes`];
}

/** The prefix (ending in "/") of an object ARN `<bucket arn>/<prefix>*`, else undefined. */
function objectPrefix(resource: unknown, bucketArn: string): string | undefined {
  const match = /^((?:[a-z_-]+\/)+)\*$/.exec(objectKey(resource, bucketArn) ?? '');
  return match?.[1];
}

/** The longest of `prefixes` that `key` starts with. */
function deepestPrefix(prefixes: readonly string[], key: string): string | undefined {
  return prefixes
    .filter((p) => key.startsWith(p))
    .sort((a, b) => b.length - a.length)
    .at(0);
}

/** What follows `<bucket arn>/` in an object ARN (a key, or a prefix and `*`), else undefined. */
function objectKey(resource: unknown, bucketArn: string): string | undefined {
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join?.[1].length !== 2 || JSON.stringify(join[1][0]) !== bucketArn) return undefined;
  const tail = String(join[1][1]);
  return tail.startsWith('/') ? tail.slice(1) : undefined;
}

/** Actions AWS gives no resource ARN to: X-Ray tracing and log delivery to CloudWatch Logs. */
const unscopedActions = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

/** The statements of the policies attached to a role, or of the policy itself. */
function statementsOf(logicalId: string | undefined, resources: Resources): Statement[] {
  const documentOf = (r: Resources[string] | undefined) =>
    (r?.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? [];
  const own = logicalId === undefined ? undefined : resources[logicalId];
  if (own?.Type === 'AWS::IAM::Policy' || own?.Type === 'AWS::IAM::ManagedPolicy')
    return documentOf(own);
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) => JSON.stringify(r.Properties?.Roles ?? []).includes(`"${logicalId}"`))
    .flatMap(documentOf);
}

/** "Only actions without a resource ARN on *": every `*` statement of the role carries only those. */
function checkUnscopedActionsClaim(ack: Acknowledgement, resources: Resources): string[] {
  const extra = statementsOf(ack.logicalId, resources)
    .filter((s) => asList(s.Resource).includes('*'))
    .flatMap((s) => asList(s.Action))
    .filter((a) => !unscopedActions.has(a));
  return extra.length > 0 ? [`${ack.path}: ${extra.join(', ')} granted on *`] : [];
}

const executionWildcard =
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:';

/**
 * "Executions of this state machine only": the policy's execution ARNs name one state machine
 * (the one the acknowledgement names) and carry only describe, stop and redrive.
 */
function checkOwnExecutionsClaim(ack: Acknowledgement, resources: Resources): string[] {
  const machine = /"Ref":"(\w+)"/.exec(ack.id)?.[1];
  if (!machine || resources[machine]?.Type !== 'AWS::StepFunctions::StateMachine')
    return [`${ack.path}: ${ack.id} names no state machine of the template`];
  const problems: string[] = [];
  for (const statement of statementsOf(ack.logicalId, resources)) {
    const onExecutions = asList(statement.Resource).filter((r) =>
      JSON.stringify(r).includes(':execution:'),
    );
    if (onExecutions.length === 0) continue;
    for (const resource of onExecutions)
      if (!JSON.stringify(resource).includes(`{"Ref":"${machine}"}`))
        problems.push(
          `${ack.path}: executions of another state machine: ${JSON.stringify(resource)}`,
        );
    const extra = asList(statement.Action).filter(
      (a) =>
        !['states:DescribeExecution', 'states:StopExecution', 'states:RedriveExecution'].includes(
          a,
        ),
    );
    if (extra.length > 0) problems.push(`${ack.path}: executions carry ${extra.join(', ')}`);
  }
  return problems;
}

/** "This queue is itself a dead-letter queue": no redrive of its own, and used as one. */
function checkDeadLetterClaim(ack: Acknowledgement, resources: Resources): string[] {
  const queue = ack.logicalId ? resources[ack.logicalId] : undefined;
  if (queue?.Type !== 'AWS::SQS::Queue') return [`${ack.path}: SQS3 acknowledged on a non-queue`];
  const problems: string[] = [];
  if (queue.Properties?.RedrivePolicy)
    problems.push(`${ack.path}: a dead-letter queue with a redrive policy of its own`);
  const arn = JSON.stringify({ 'Fn::GetAtt': [ack.logicalId, 'Arn'] });
  const targets = Object.values(resources).filter(
    (r) =>
      (r.Type === 'AWS::Scheduler::Schedule' &&
        JSON.stringify(
          (r.Properties?.Target as { DeadLetterConfig?: unknown } | undefined)?.DeadLetterConfig,
        ) === JSON.stringify({ Arn: JSON.parse(arn) })) ||
      (r.Type === 'AWS::Lambda::EventInvokeConfig' &&
        JSON.stringify(r.Properties?.DestinationConfig) ===
          JSON.stringify({ OnFailure: { Destination: JSON.parse(arn) } })),
  );
  if (targets.length === 0)
    problems.push(`${ack.path}: no schedule or function sends failures to it`);
  return problems;
}

/**
 * "Not rotated on purpose" (SMG4): acknowledged on a Secrets Manager secret that indeed has no
 * rotation schedule, so the claim and the template agree.
 */
function checkNotRotatedClaim(ack: Acknowledgement, resources: Resources): string[] {
  const secret = ack.logicalId ? resources[ack.logicalId] : undefined;
  if (secret?.Type !== 'AWS::SecretsManager::Secret')
    return [`${ack.path}: SMG4 acknowledged on a non-secret`];
  const rotated = Object.values(resources).some(
    (r) =>
      r.Type === 'AWS::SecretsManager::RotationSchedule' &&
      JSON.stringify(r.Properties?.SecretId) === JSON.stringify({ Ref: ack.logicalId }),
  );
  return rotated ? [`${ack.path}: SMG4 says not rotated, but a rotation schedule rotates it`] : [];
}
