import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Size, Stack, Stage, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { ingestRecordsPrefix } from '../offline/ingest-records.ts';
import { compactionLockKey, compactionRecordsPrefix } from '../offline/s3-compact-record.ts';
import { s3SnapshotsPrefix } from '../offline/snapshot-format.ts';
import { retention } from './function-defaults.ts';
import { functionRole } from './function-role.ts';
import { writeDuckdbFunctionContext } from './push-compaction-image.ts';

export interface ScheduledRetentionProps {
  readonly stage: StageConfig;
  /** The offline bucket. */
  readonly bucket: s3.IBucket;
  /** Source → retention in seconds (the source's own, else the stage's offline.retention). */
  readonly retentions: Readonly<Record<string, number>>;
  /** Source → its data prefix in the bucket (the registry's `offline.s3Prefix`), as compaction. */
  readonly prefixes: Readonly<Record<string, string>>;
  /** Source → its event-time column (the registry's `timestampField`), for the boundary day. */
  readonly timestampFields: Readonly<Record<string, string>>;
  /**
   * When it runs (EventBridge Scheduler, UTC); default once a day. At least daily: the not-run
   * alarm expects a retained source every day.
   */
  readonly schedule?: string;
  /** Where its failure alarm notifies (the stack's alarm topic); absent: the alarm only shows. */
  readonly alarmTopic?: sns.ITopic;
}

const entry = fileURLToPath(new URL('../../lambdas/retention/index.ts', import.meta.url));
const dockerfile = fileURLToPath(new URL('../../lambdas/retention/Dockerfile', import.meta.url));

/**
 * The scheduled retention of the offline store (README "Retention"): an EventBridge Scheduler
 * schedule invokes one function that deletes, per source with a retention, the objects of the
 * `dt` partitions before the boundary's day, and writes the boundary day's objects again without
 * their older rows (lambdas/retention). The rewrite needs DuckDB's native addon, so the function
 * is a container image built like the push compaction's (linux/arm64, npm ci of DuckDB only).
 * Its role may only list, read, write and delete (every version) objects under
 * `<prefix>dt=` of those sources, list and read their commit records, write a compaction record
 * (the rewrite's one commit), and take the source's compaction lock: nothing else of the bucket
 * but the snapshots, which it lists and reads. A failed run
 * (Lambda Errors: a source S3 refused, a crash, a timeout) fires an alarm; the run is retried by
 * the next schedule, so the invocation is not retried. Two UTC days in a row with no source
 * retained (the schedule never fired, or every source was busy) fire another alarm, missing
 * data counting as breaching. Deleted objects stay as noncurrent versions until the bucket's
 * lifecycle rule expires them.
 */
export class ScheduledRetention extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly schedule: scheduler.CfnSchedule;
  readonly failedAlarm: cloudwatch.Alarm;
  readonly notRunAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ScheduledRetentionProps) {
    super(scope, id);
    const { stage } = props;
    const stack = Stack.of(this);
    const functionName = `fstore-${stage.name}-retention`;
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy: stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const role = functionRole(this, 'ServiceRole', {
      logGroup,
      description: `Execution role of ${functionName}: delete and rewrite offline/<source>/dt= objects, commit the rewrite, take the source's compaction lock, read the snapshots`,
    });
    const sources = Object.keys(props.retentions);
    const prefixes = Object.fromEntries(
      sources.map((s) => {
        const prefix = props.prefixes[s];
        if (prefix === undefined)
          throw new Error(`ScheduledRetention: no prefix for source "${s}" in props.prefixes`);
        return [s, prefix];
      }),
    );
    const timestampFields = Object.fromEntries(
      sources.map((s) => {
        const field = props.timestampFields[s];
        if (field === undefined)
          throw new Error(
            `ScheduledRetention: no event-time column for source "${s}" in props.timestampFields`,
          );
        return [s, field];
      }),
    );
    const partitions = sources.map((s) => `${prefixes[s]}dt=`);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': partitions.map((p) => `${p}*`) } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:DeleteObject'],
        resources: [
          ...partitions.map((p) => props.bucket.arnForObjects(`${p}*`)),
          ...sources.map((s) => props.bucket.arnForObjects(compactionLockKey(s))),
        ],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: sources.map((s) => props.bucket.arnForObjects(compactionLockKey(s))),
      }),
    );
    // The boundary day's rewrite (lib/offline/s3-rewrite-objects.ts): it reads the objects and
    // the commit records (which objects readers read), uploads the rewritten objects beside the
    // old, commits with one compaction record, then deletes every version of the replaced ones.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObjectVersion'],
        resources: partitions.map((p) => props.bucket.arnForObjects(`${p}*`)),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: sources.map((s) => props.bucket.arnForObjects(`${ingestRecordsPrefix}${s}/*`)),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: sources.map((s) => props.bucket.arnForObjects(`${compactionRecordsPrefix(s)}*`)),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: {
          StringEquals: {
            's3:prefix': [
              ...sources.map((s) => prefixes[s] as string),
              ...sources.map((s) => `${ingestRecordsPrefix}${s}/`),
            ],
          },
        },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucketVersions'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': partitions.map((p) => `${p}*`) } },
      }),
    );
    // The snapshots' pins (lib/offline/s3-snapshots.ts): listed and read, nothing else there.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': `${s3SnapshotsPrefix}*` } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(`${s3SnapshotsPrefix}*`)],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.resolve((props.bucket.node.defaultChild as s3.CfnBucket | undefined)?.logicalId) ?? 'bucket'}.Arn>/${s3SnapshotsPrefix}*]`,
      reason: `Reads the snapshot objects under ${s3SnapshotsPrefix} (one per snapshot, names not known at deploy) to refuse deleting rows they pin; read only, nothing else under that prefix.`,
    });
    const bucketId =
      stack.resolve((props.bucket.node.defaultChild as s3.CfnBucket | undefined)?.logicalId) ??
      'bucket';
    for (const prefix of partitions)
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        reason: `Deletes the objects of ${prefix}<day>/ partitions older than the retention, and writes the boundary day's objects again without the older rows (reads them, uploads the new ones, deletes every version of the old): a prefix grant is a wildcard on object keys; nothing outside the source's partitions is granted.`,
      });
    for (const source of sources) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${ingestRecordsPrefix}${source}/*]`,
        reason: `Reads the commit records of source "${source}" (one per ingest, names not known at deploy) to know which objects of the boundary day readers read; read only.`,
      });
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${compactionRecordsPrefix(source)}*]`,
        reason: `Writes the one compaction record that commits the boundary day's rewrite (named by the rewrite's id, not known at deploy); below the source's compaction records only.`,
      });
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Condition::StringLike s3:prefix]',
      reason: `Lists only the offline/<source>/dt= prefixes of sources with a retention, and ${s3SnapshotsPrefix} (the snapshots).`,
    });

    const context = writeDuckdbFunctionContext(
      path.join(Stage.of(this)?.outdir ?? '.', `.retention-${this.node.addr}`),
      { entry, dockerfile, name: 'fstore-retention', bundle: stack.bundlingRequired },
    );
    this.function = new lambda.DockerImageFunction(this, 'Function', {
      functionName,
      code: lambda.DockerImageCode.fromImageAsset(context, {
        platform: ecrAssets.Platform.LINUX_ARM64,
      }),
      architecture: lambda.Architecture.ARM_64,
      // DuckDB rewrites one boundary-day object at a time in /tmp.
      memorySize: 2048,
      ephemeralStorageSize: Size.gibibytes(10),
      timeout: Duration.minutes(15),
      // One run at a time: two would only contend for the same source locks.
      reservedConcurrentExecutions: 1,
      role,
      logGroup,
      environment: {
        OFFLINE_BUCKET: props.bucket.bucketName,
        RETENTIONS: JSON.stringify(props.retentions),
        OFFLINE_PREFIXES: JSON.stringify(prefixes),
        TIMESTAMP_FIELDS: JSON.stringify(timestampFields),
        NODE_OPTIONS: '--enable-source-maps',
      },
      description: `Deletes offline rows of env ${stage.name} past each source's retention (dt partitions, and the boundary day's older rows)`,
    });
    this.function.configureAsyncInvoke({ retryAttempts: 0 });

    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `EventBridge Scheduler invoking ${functionName}`,
    });
    schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.function.functionArn],
      }),
    );
    this.schedule = new scheduler.CfnSchedule(this, 'Schedule', {
      name: functionName.slice(0, 64),
      description: "Delete offline rows past each source's retention",
      scheduleExpression: props.schedule ?? 'rate(1 day)',
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: this.function.functionArn,
        roleArn: schedulerRole.roleArn,
        input: '{}',
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
      },
    });

    this.failedAlarm = new cloudwatch.Alarm(this, 'Failed', {
      alarmName: `fstore-${stage.name}-retention-failed`,
      alarmDescription:
        'A scheduled retention run failed; its log names each failed source and why (the other sources ran). Old rows stay until a run succeeds.',
      metric: this.function.metricErrors({ statistic: 'Sum', period: Duration.days(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // The Errors alarm sees failed runs only: a schedule that never fires, or a run whose every
    // source another run held (SourcesBusy), is silent there. Two days, not one: a first run up
    // to a day after deploy, and a daily run near midnight UTC, do not alarm.
    this.notRunAlarm = new cloudwatch.Alarm(this, 'NotRun', {
      alarmName: `fstore-${stage.name}-retention-not-run`,
      alarmDescription:
        'No scheduled retention run applied any source for two UTC days: the schedule did not fire, or every source was busy (a compaction held its lock). Old rows stay; check the schedule and the function log.',
      metric: new cloudwatch.Metric({
        namespace: 'fstore',
        metricName: 'SourcesRetained',
        dimensionsMap: { service: 'retention' },
        statistic: 'Sum',
        period: Duration.days(1),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    if (props.alarmTopic)
      for (const alarm of [this.failedAlarm, this.notRunAlarm])
        alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
  }
}
