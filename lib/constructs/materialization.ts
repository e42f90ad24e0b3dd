import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import type { Registry } from '../registry/index.ts';
import { projectFiles, registryBundling, retention } from './function-defaults.ts';
import { pascal } from './logical-id.ts';
import type { OfflineStore } from './offline-store.ts';

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
 * `schedule` expression, input `{"view": ...}`), with a retry policy and an encrypted
 * dead-letter queue, invoking one materialize function (arm64, Node.js 24, 15-minute timeout,
 * registry compiled in). The function may query Athena in the offline store's workgroup over
 * its Glue tables and data, write quarantined rows under `quarantine/`, read and conditionally
 * write the online table, and invoke itself to continue a long run; nothing more.
 */
export class Materialization extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedules: ReadonlyMap<string, scheduler.CfnSchedule>;

  constructor(scope: Construct, id: string, props: MaterializationProps) {
    super(scope, id);
    const { stage, registry } = props;
    const stack = Stack.of(this);
    const functionName = `fstore-${stage.name}-materialize`;
    const functionLogs = new logs.LogGroup(this, 'FunctionLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.function = new nodejs.NodejsFunction(this, 'Materializer', {
      functionName,
      entry: materializeEntry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 1024,
      timeout: Duration.minutes(15),
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
      bundling: registryBundling(props.registry),
      ...projectFiles,
    });
    props.table.grant(this.function, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    props.offlineStore.grantQuery(this.function, { readRequests: false });
    props.offlineStore.grantWrite(this.function, `${quarantinePrefix}*`);
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

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      queueName: `fstore-${stage.name}-materialize-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
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

    const schedules = new Map<string, scheduler.CfnSchedule>();
    for (const view of registry.featureViews.filter((v) => v.online && v.schedule)) {
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
            arn: this.function.functionArn,
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
      reason: 'This queue is the dead-letter queue of the materialization schedules itself.',
    });
    if (this.function.role) {
      Validations.of(this.function.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.',
      });
    }
  }
}
