import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { kinesisStreamName } from '../push/kinesis-stream-name.ts';
import { defaultPushLimits } from '../push/push-limits.ts';
import { streamQuarantinePrefix } from '../push/stream-records.ts';
import type { Registry, RegistrySource } from '../registry/index.ts';
import { pushRegistryProjection } from '../registry/runtime-projection.ts';
import { projectFiles, registryBundling, retention } from './function-defaults.ts';
import { functionRole } from './function-role.ts';
import { pascal } from './logical-id.ts';
import type { PushDeliveryStreams } from './push-delivery-streams.ts';

export interface StreamIngestProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  /** The source whose `stream` is read; every record is one row of it. */
  readonly source: RegistrySource;
  /** The online table the rows are written to. */
  readonly table: dynamodb.ITableV2;
  /** The offline bucket: refused records are kept under `quarantine/_stream/<source>/`. */
  readonly quarantineBucket: s3.IBucket;
  /**
   * The push's Firehose streams (offline sink): when the source has one, rows are also sent
   * there, before the online writes; without it the stream feeds the online store only.
   */
  readonly pushStreams?: PushDeliveryStreams;
  /** Where the alarms notify (the stage's alarm topic); none: the alarms only change state. */
  readonly alarmTopic?: sns.ITopic;
  /** Records per invocation, 1 to 10,000. Default 100. */
  readonly batchSize?: number;
  /** How long Lambda gathers records before invoking. Default none: as soon as records arrive. */
  readonly maxBatchingWindow?: Duration;
  /** Retries of a failing batch before it goes to the dead-letter queue. Default 3. */
  readonly retryAttempts?: number;
  /** Records older than this are not retried but sent to the dead-letter queue. Default 6 hours. */
  readonly maxRecordAge?: Duration;
  /**
   * The age of the records the function's event source mapping reads (Lambda's `IteratorAge`:
   * the last record of each batch) that raises the alarm. Default one minute.
   */
  readonly iteratorAgeThreshold?: Duration;
  /** Active X-Ray tracing on the function. Default false. */
  readonly tracing?: boolean;
}

const streamPushEntry = fileURLToPath(
  new URL('../../lambdas/stream-push/index.ts', import.meta.url),
);

/**
 * A source's Kinesis stream into the online store (issue 17 §2): the stream, created
 * (`fstore-<env>-<source>`, encrypted with the AWS-managed key `alias/aws/kinesis`, provisioned
 * shards or on-demand, the declared retention, retained with the stage's data) or imported by
 * ARN (with the customer-managed KMS key it is encrypted with, if named); an event source mapping to the source's stream function (lambdas/stream-push) with
 * partial batch responses, bisection on error, bounded retries and record age, and an
 * encrypted SQS dead-letter queue as its on-failure destination (it receives where the failed
 * records are in the stream, not the records). A created stream is read from its start
 * (nothing producers wrote before the mapping existed is missed); an imported one from now.
 * With the push's Firehose stream of the source (`pushStreams`), rows are also stored offline
 * first. The function's role may read that stream (and `kms:Decrypt` with its named key), `PutItem` on the online table, put objects
 * under `quarantine/_stream/<source>/` of the offline bucket, `PutRecordBatch` on the source's
 * Firehose stream only, send to the queue and write its own log group. Alarms: the age of the records the function reads (its `IteratorAge`), function errors, anything in the queue.
 */
export class StreamIngest extends Construct {
  readonly stream: kinesis.IStream;
  readonly function: nodejs.NodejsFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: StreamIngestProps) {
    super(scope, id);
    const { stage, source } = props;
    const declared = source.stream?.kinesis;
    if (!declared) throw new Error(`StreamIngest: source "${source.name}" declares no stream`);
    const name = kinesisStreamName(stage.name, source.name);
    const removalPolicy = stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const created = 'create' in declared;
    this.stream =
      'create' in declared
        ? new kinesis.Stream(this, 'Stream', {
            streamName: name,
            encryption: kinesis.StreamEncryption.MANAGED,
            ...(declared.shards === 'on-demand'
              ? { streamMode: kinesis.StreamMode.ON_DEMAND }
              : { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: declared.shards }),
            retentionPeriod: Duration.hours(declared.retentionHours),
            removalPolicy,
          })
        : kinesis.Stream.fromStreamAttributes(this, 'Stream', {
            streamArn: declared.streamArn,
            // grantRead then adds kms:Decrypt on this key only (fromStreamArn grants none).
            ...(declared.kmsKeyArn
              ? { encryptionKey: kms.Key.fromKeyArn(this, 'StreamKey', declared.kmsKeyArn) }
              : {}),
          });

    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy,
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      queueName: `${name}-stream-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: streamPushEntry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.minutes(1),
      role: functionRole(this, 'ServiceRole', {
        logGroup,
        description: `Execution role of the fstore ${stage.name} stream function of ${source.name}`,
      }),
      logGroup,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      environment: {
        TABLE_NAME: props.table.tableName,
        SOURCE_NAME: source.name,
        QUARANTINE_BUCKET: props.quarantineBucket.bucketName,
        MAX_FUTURE_SKEW_SECONDS: String(defaultPushLimits.maxFutureSkewSeconds),
      },
      bundling: registryBundling(pushRegistryProjection(props.registry)),
      ...projectFiles,
    });
    this.function.addEventSource(
      new KinesisEventSource(this.stream, {
        startingPosition: created
          ? lambda.StartingPosition.TRIM_HORIZON
          : lambda.StartingPosition.LATEST,
        batchSize: props.batchSize ?? 100,
        ...(props.maxBatchingWindow ? { maxBatchingWindow: props.maxBatchingWindow } : {}),
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: props.retryAttempts ?? 3,
        maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
        onFailure: new SqsDlq(this.deadLetterQueue),
      }),
    );
    props.table.grant(this.function, 'dynamodb:PutItem');
    const delivery = props.pushStreams?.streams.get(source.name);
    if (delivery) {
      this.function.addEnvironment('PUSH_STREAMS_ENV', stage.name);
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['firehose:PutRecordBatch'],
          resources: [delivery.attrArn],
        }),
      );
    }
    const quarantine = `${streamQuarantinePrefix}${source.name}/`;
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.quarantineBucket.arnForObjects(`${quarantine}*`)],
      }),
    );
    const bucketId = Stack.of(this).resolve(
      (props.quarantineBucket.node.defaultChild as { logicalId?: string } | undefined)?.logicalId,
    ) as string | undefined;
    Validations.of(this.function.role ?? this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${quarantine}*]`,
      reason: `Quarantined records are new objects with generated names, only under ${quarantine} (PutObject alone: no read, no delete).`,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue (on-failure destination) of the stream’s event source mapping.',
    });
    this.addAlarms(props, name);
  }

  private addAlarms(props: StreamIngestProps, name: string): void {
    const threshold = props.iteratorAgeThreshold ?? Duration.minutes(1);
    this.alarm(props, 'IteratorAgeAlarm', {
      alarmName: `${name}-stream-iterator-age`,
      alarmDescription: `Records of ${props.source.name}'s stream were more than ${threshold.toSeconds()} s old when the stream function read them, for 3 minutes: it falls behind (throttled writes, errors, too few shards) and online values are stale`,
      // Lambda's IteratorAge of this function (its event source mapping), which AWS recommends
      // for a Lambda consumer: the stream's GetRecords.IteratorAgeMilliseconds is the slowest
      // of all its readers (an imported stream's other consumers) and misses enhanced fan-out.
      metric: this.function.metric('IteratorAge', {
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: threshold.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      // No reads in a minute (an idle stream) is not falling behind.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm(props, 'ErrorsAlarm', {
      alarmName: `${name}-stream-errors`,
      alarmDescription: `The stream function of ${props.source.name} failed (threw or timed out) in two 5-minute periods in a row; its batches are bisected, retried, then sent to the dead-letter queue`,
      metric: this.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm(props, 'DeadLettersAlarm', {
      alarmName: `${name}-stream-dlq`,
      alarmDescription: `Batches of ${props.source.name}'s stream were given up after every retry: each message names the shard and sequence range to replay while the stream still holds them`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private alarm(props: StreamIngestProps, id: string, alarmProps: cloudwatch.AlarmProps): void {
    const alarm = new cloudwatch.Alarm(this, id, alarmProps);
    if (props.alarmTopic) {
      const notify = new actions.SnsAction(props.alarmTopic);
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
    this.alarms.push(alarm);
  }
}

/** A StreamIngest for every source of the registry that declares a stream, by source name. */
export function streamIngests(
  scope: Construct,
  props: Omit<StreamIngestProps, 'source'>,
): ReadonlyMap<string, StreamIngest> {
  return new Map(
    props.registry.sources
      .filter((source) => source.stream)
      .map((source) => [
        source.name,
        new StreamIngest(scope, `StreamIngest${pascal(source.name)}`, { ...props, source }),
      ]),
  );
}
