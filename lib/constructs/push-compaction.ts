import path from 'node:path';
import { Duration, RemovalPolicy, Size, Stack, Stage, Validations } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { longestIntervalSeconds } from '../local/next-run.ts';
import type { Registry } from '../registry/index.ts';
import { pushRegistryProjection } from '../registry/runtime-projection.ts';
import { retention } from './function-defaults.ts';
import { functionRole } from './function-role.ts';
import type { OfflineStore } from './offline-store.ts';
import { writePushCompactionContext } from './push-compaction-image.ts';

export interface PushCompactionProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  readonly offlineStore: OfflineStore;
  /** EventBridge `rate(...)`/`cron(...)` expression (UTC) of the runs. */
  readonly schedule: string;
}

/** Staged objects per push batch: at Firehose's 64 MiB objects, a few GiB of /tmp at most. */
const maxObjectsPerBatch = 50;
/** No new source or batch with less than this left of the 15 minutes. */
const reserve = Duration.minutes(3);

/**
 * The scheduled compaction of pushed rows (ADR 0016): an EventBridge Scheduler schedule invokes
 * one container-image function (DuckDB's native addon, linux/arm64, 15-minute timeout, 10 GiB
 * of /tmp) that runs `fstore compact --env` over every source: staged pushes ingested, small
 * objects merged. The function's role holds exactly the compaction role's statements
 * (`grantCompact`, listing `offline/_push-errors/<source>/` to count delivery errors included)
 * and its own log group. One encrypted dead-letter queue receives what Scheduler could not
 * deliver and, as the on-failure destination, every failed invocation (no Lambda retry: the
 * next scheduled run is the retry). Two concurrent executions at most: the source locks keep
 * overlapping runs apart, the cap keeps a pile-up from growing.
 */
export class PushCompaction extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedule: scheduler.CfnSchedule;
  /** Longest time between two scheduled runs, for the alarms. */
  readonly intervalSeconds: number;

  constructor(scope: Construct, id: string, props: PushCompactionProps) {
    super(scope, id);
    const { stage } = props;
    const stack = Stack.of(this);
    const functionName = `fstore-${stage.name}-push-compaction`;
    const removalPolicy = stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.intervalSeconds = longestIntervalSeconds(props.schedule);
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy,
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      queueName: `${functionName}-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    const role = functionRole(this, 'ServiceRole', {
      logGroup,
      description: `Execution role of ${functionName}: the statements of fstore iam-policy --for compact`,
    });
    props.offlineStore.grantCompact(role);
    const context = writePushCompactionContext(
      path.join(Stage.of(this)?.outdir ?? '.', `.push-compaction-${stack.node.addr}`),
      pushRegistryProjection(props.registry),
      { bundle: stack.bundlingRequired },
    );
    this.function = new lambda.DockerImageFunction(this, 'Function', {
      functionName,
      code: lambda.DockerImageCode.fromImageAsset(context, {
        platform: ecrAssets.Platform.LINUX_ARM64,
      }),
      architecture: lambda.Architecture.ARM_64,
      memorySize: 2048,
      ephemeralStorageSize: Size.gibibytes(10),
      timeout: Duration.minutes(15),
      reservedConcurrentExecutions: 2,
      role,
      logGroup,
      environment: {
        OFFLINE_BUCKET: props.offlineStore.bucket.bucketName,
        MAX_OBJECTS: String(maxObjectsPerBatch),
        RESERVE_MS: String(reserve.toMilliseconds()),
        NODE_OPTIONS: '--enable-source-maps',
      },
      description: `fstore compact --env ${stage.name} on a schedule: pushed rows staged by Firehose become committed ingests`,
    });
    const maxEventAge = Duration.seconds(Math.min(21_600, Math.max(60, this.intervalSeconds)));
    this.function.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      retryAttempts: 0,
      maxEventAge,
    });

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
    this.deadLetterQueue.grantSendMessages(schedulerRole);
    this.schedule = new scheduler.CfnSchedule(this, 'Schedule', {
      name: functionName.slice(0, 64),
      description: 'Compact pushed rows into the offline store (fstore compact --env)',
      scheduleExpression: props.schedule,
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: this.function.functionArn,
        roleArn: schedulerRole.roleArn,
        input: '{}',
        retryPolicy: {
          maximumRetryAttempts: 2,
          maximumEventAgeInSeconds: maxEventAge.toSeconds(),
        },
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      },
    });

    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: of the push-compaction schedule and of the function’s failed invocations.',
    });
  }
}
