import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { ingestRecordsSummaryPrefix } from '../materialize/ingest-records-summary.ts';
import { unloadFolder } from '../materialize/unload-folder.ts';
import type { Registry } from '../registry/index.ts';
import { materializerRegistryProjection } from '../registry/runtime-projection.ts';
import { projectFiles, registryBundling, retention } from './function-defaults.ts';
import { functionRole } from './function-role.ts';
import { pascal } from './logical-id.ts';
import type { OfflineStore } from './offline-store.ts';
import { ShardedMaterialization } from './sharded-materialization.ts';

export interface MaterializationProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  readonly table: dynamodb.ITableV2;
  readonly offlineStore: OfflineStore;
  /** Active X-Ray tracing on the function. Default false. */
  readonly tracing?: boolean;
}

const materializeEntry = fileURLToPath(
  new URL('../../lambdas/materialize/index.ts', import.meta.url),
);
export const quarantinePrefix = 'quarantine/';

/**
 * Keeps online views fresh: one EventBridge Scheduler schedule per online view (its
 * `schedule` expression, input `{"view": ...}`), with a retry policy, invoking one materialize
 * function (arm64, Node.js 24, 15-minute timeout, reserved concurrency, the materializer's
 * projection of the registry compiled in: a schedule edit changes the schedule, not the code).
 * One encrypted dead-letter queue receives both what Scheduler could not deliver and, as the
 * function's on-failure destination, every asynchronous invocation (scheduled or a
 * continuation the function sent itself) that still failed after Lambda's retries. The
 * function may query Athena in the offline store's workgroup over its source tables, write
 * quarantined rows under `quarantine/`, read and write the summaries of commit records its tile
 * bases read under `tile-base-records/` and the ranges their queries ship as data under
 * `tile-base-ranges/` (with its Glue table), read and conditionally write the online table, write
 * its own log group and invoke itself to continue a long run; nothing more.
 */
export class Materialization extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedules: ReadonlyMap<string, scheduler.CfnSchedule>;
  /** The state machine of the views sharded runs are enabled for (stage config); else absent. */
  readonly sharded?: ShardedMaterialization;

  constructor(scope: Construct, id: string, props: MaterializationProps) {
    super(scope, id);
    const { stage, registry } = props;
    const stack = Stack.of(this);
    const functionName = `fstore-${stage.name}-materialize`;
    const removalPolicy = stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const functionLogs = new logs.LogGroup(this, 'FunctionLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy,
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      queueName: `fstore-${stage.name}-materialize-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    const onlineViews = registry.featureViews.filter((v) => v.online && v.schedule);
    this.function = new nodejs.NodejsFunction(this, 'Materializer', {
      functionName,
      entry: materializeEntry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 1024,
      timeout: Duration.minutes(15),
      // One run per view at a time (the lease), plus one for a continuation or a backfill.
      reservedConcurrentExecutions:
        stage.materialization.reservedConcurrency ?? onlineViews.length + 1,
      role: functionRole(this, 'MaterializerServiceRole', {
        logGroup: functionLogs,
        description: `Execution role of ${functionName}`,
      }),
      logGroup: functionLogs,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      environment: {
        TABLE_NAME: props.table.tableName,
        ATHENA_WORKGROUP: props.offlineStore.workgroup.ref,
        ATHENA_DATABASE: props.offlineStore.databaseName,
        OFFLINE_BUCKET: props.offlineStore.bucket.bucketName,
        QUARANTINE_PREFIX: quarantinePrefix,
        ALLOWED_LATENESS_SECONDS: String(stage.materialization.allowedLatenessSeconds),
        WRITE_CONCURRENCY: String(stage.materialization.writeConcurrency),
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: registryBundling(materializerRegistryProjection(props.registry)),
      ...projectFiles,
    });
    props.table.grant(this.function, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    props.offlineStore.grantQuery(this.function, { readRequests: false });
    props.offlineStore.grantWrite(this.function, quarantinePrefix);
    // The summary of each source's commit records its tile bases read (ADR 0020, "Where").
    props.offlineStore.grantObjects(this.function, {
      read: [ingestRecordsSummaryPrefix],
      write: [ingestRecordsSummaryPrefix],
    });
    // The ranges a tile base query ships as data past a thousand (ADR 0020, "Bounded query text").
    props.offlineStore.grantTileBaseRanges(this.function);
    // Asynchronous invocations (Scheduler's and the function's own continuations) that fail
    // after Lambda's retries would otherwise be dropped.
    this.function.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      retryAttempts: 2,
      maxEventAge: Duration.seconds(stage.materialization.maxEventAgeSeconds),
    });
    // By name, not by the function's ARN attribute: the role cannot depend on the function.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [
          stack.formatArn({
            service: 'lambda',
            resource: 'function',
            resourceName: functionName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );

    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `EventBridge Scheduler invoking ${functionName}`,
    });
    // The function itself, not `:*` (its versions and aliases), which grantInvoke would add.
    schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.function.functionArn],
      }),
    );
    this.deadLetterQueue.grantSendMessages(schedulerRole);

    const shardedViews = new Set(stage.materialization.sharding.views);
    for (const name of shardedViews)
      if (!onlineViews.some((v) => v.name === name))
        throw new Error(
          `stage "${stage.name}": materialization.sharding.views names "${name}", which is not a scheduled online feature view of this registry (those are: ${onlineViews.map((v) => v.name).join(', ') || 'none'})`,
        );
    if (shardedViews.size > 0) {
      this.sharded = new ShardedMaterialization(this, 'Sharded', {
        stage,
        registry,
        table: props.table,
        offlineStore: props.offlineStore,
        materializer: this.function,
        unloadFolder,
        quarantinePrefix,
        ...(props.tracing !== undefined ? { tracing: props.tracing } : {}),
      });
      this.sharded.stateMachine.grantStartExecution(schedulerRole);
    }
    const targetOf = (view: string) =>
      this.sharded && shardedViews.has(view)
        ? this.sharded.stateMachine.stateMachineArn
        : this.function.functionArn;

    const schedules = new Map<string, scheduler.CfnSchedule>();
    for (const view of onlineViews) {
      schedules.set(
        view.name,
        new scheduler.CfnSchedule(this, `Schedule${pascal(view.name)}`, {
          name: `fstore-${stage.name}-${view.name}`.slice(0, 64),
          description: `Materialize ${view.name} into the online store`,
          scheduleExpression: view.schedule as string,
          scheduleExpressionTimezone: 'UTC',
          flexibleTimeWindow: { mode: 'OFF' },
          state: 'ENABLED',
          target: {
            arn: targetOf(view.name),
            roleArn: schedulerRole.roleArn,
            input: JSON.stringify({ view: view.name }),
            retryPolicy: {
              maximumRetryAttempts: stage.materialization.retryAttempts,
              maximumEventAgeInSeconds: stage.materialization.maxEventAgeSeconds,
            },
            deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
          },
        }),
      );
    }
    this.schedules = schedules;

    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: of the materialization schedules and of the materializer’s failed asynchronous invocations.',
    });
  }
}
