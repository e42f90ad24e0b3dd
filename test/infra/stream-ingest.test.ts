import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { OfflineStore } from '../../lib/constructs/offline-store.ts';
import { OnlineStore } from '../../lib/constructs/online-store.ts';
import { PushDeliveryStreams } from '../../lib/constructs/push-delivery-streams.ts';
import { type StreamIngest, streamIngests } from '../../lib/constructs/stream-ingest.ts';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { streamProducerStatements } from '../../lib/iam/stream-producer-policy.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { cdkJsonContext, synthWithViolations } from './synth-app.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };

const ordersArn = 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders-from-checkout';
const ordersKeyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const source = (name: string, stream: Parameters<typeof defineSource>[0]['stream']) =>
  defineSource({
    name,
    schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
    ...(stream ? { stream } : {}),
  });
const view = (name: string, from: ReturnType<typeof source>) => ({
  definition: defineFeatureView({
    name,
    entities: [customer],
    source: from,
    features: { amount: 'float64' },
    online: true,
    schedule: 'rate(1 hour)',
  }),
});

/** Three sources: a created stream, an existing one, none; built, bundled and checked by cdk-nag. */
function synth() {
  const registry = compileRegistry([
    view(
      'last_click',
      source('clicks', { kinesis: { create: true, shards: 2, retentionHours: 48 } }),
    ),
    view(
      'last_order',
      source('orders', { kinesis: { streamArn: ordersArn, kmsKeyArn: ordersKeyArn } }),
    ),
    view('last_refund', source('refunds', { kinesis: { create: true, shards: 'on-demand' } })),
    view('last_visit', source('visits', undefined)),
  ]);
  const app = new App({ context: cdkJsonContext() });
  const stack = new Stack(app, 'streams-dev');
  const stage = resolveStageConfig('dev');
  const online = new OnlineStore(stack, 'OnlineStore', { stage });
  const offline = new OfflineStore(stack, 'OfflineStore', {
    stage,
    registry,
    accessLogsBucket: new s3.Bucket(stack, 'AccessLogs', {
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
    }),
  });
  const topic = new sns.Topic(stack, 'Alarms', { enforceSSL: true });
  Validations.of(topic).acknowledge({ id: 'AwsSolutions-SNS2', reason: 'test topic' });
  Validations.of(offline.bucket.node.scope ?? stack).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'test access-log bucket',
  });
  const pushStreams = new PushDeliveryStreams(stack, 'PushStreams', {
    stage,
    registry,
    bucket: offline.bucket,
    database: offline.database,
    databaseName: offline.databaseName,
  });
  const ingests = streamIngests(stack, {
    stage,
    registry,
    table: online.table,
    quarantineBucket: offline.bucket,
    pushStreams,
    alarmTopic: topic,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const { violations } = synthWithViolations(app);
  // A cdk-nag finding fails synthesis: the other tests then fail naming it, the last lists them.
  const synthesized = violations.length === 0 ? Template.fromStack(stack) : undefined;
  const template = (): Template => {
    if (!synthesized) throw new Error(`synthesis failed: ${JSON.stringify(violations, null, 2)}`);
    return synthesized;
  };
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
  return {
    get template() {
      return template();
    },
    get resources() {
      return template().toJSON().Resources as Record<string, Resource>;
    },
    ingests,
    registry,
    violations,
    id,
    tableId: id(online.table),
    bucketId: id(offline.bucket),
    topicId: id(topic),
    deliveryId: (source: string) => id({ node: { defaultChild: pushStreams.streams.get(source) } }),
  };
}

let built: ReturnType<typeof synth>;
beforeAll(() => {
  built = synth();
}, 300_000);

const ingest = (name: string) => built.ingests.get(name) as StreamIngest;
const mappingOf = (name: string) =>
  Object.values(built.resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::EventSourceMapping' &&
      JSON.stringify(r.Properties.FunctionName).includes(built.id(ingest(name).function)),
  )?.Properties;

describe('StreamIngest (a source’s Kinesis stream into the online store)', () => {
  it('is built for each source that declares a stream, and no other', () => {
    expect([...built.ingests.keys()].sort()).toEqual(['clicks', 'orders', 'refunds']);
  });

  it('creates the declared stream encrypted with the AWS-managed key: provisioned shards or on-demand, the retention', () => {
    const streams = built.template.findResources('AWS::Kinesis::Stream');
    expect(Object.values(streams).map((s) => s.Properties)).toEqual([
      {
        Name: 'fstore-dev-clicks',
        ShardCount: 2,
        RetentionPeriodHours: 48,
        StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
        StreamModeDetails: { StreamMode: 'PROVISIONED' },
      },
      {
        Name: 'fstore-dev-refunds',
        RetentionPeriodHours: 24,
        StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
        StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      },
    ]);
  });

  it('maps a created stream from its start with partial batch responses, bisection, bounded retries and age, and the dead-letter queue', () => {
    const dlq = built.id(ingest('clicks').deadLetterQueue);
    expect(mappingOf('clicks')).toEqual({
      FunctionName: { Ref: built.id(ingest('clicks').function) },
      EventSourceArn: { 'Fn::GetAtt': [built.id(ingest('clicks').stream as never), 'Arn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 21_600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
    });
  });

  it('reads an existing stream by its ARN, from now on, creating no stream', () => {
    expect(mappingOf('orders')).toMatchObject({
      EventSourceArn: ordersArn,
      StartingPosition: 'LATEST',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('may decrypt with the customer-managed key an existing stream names, that key only', () => {
    const roleOf = (name: string) => {
      const fn = built.resources[built.id(ingest(name).function)]?.Properties ?? {};
      return (fn.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    };
    const kmsStatements = (name: string) =>
      Object.values(built.resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy')
        .filter((r) => JSON.stringify(r.Properties.Roles).includes(roleOf(name)))
        .flatMap(
          (r) => (r.Properties.PolicyDocument as { Statement: { Action: unknown }[] }).Statement,
        )
        .filter((st) => JSON.stringify(st.Action).includes('kms:'));
    expect(kmsStatements('orders')).toEqual([
      { Action: 'kms:Decrypt', Effect: 'Allow', Resource: ordersKeyArn },
    ]);
    expect(kmsStatements('clicks')).toEqual([]);
  });

  it('keeps its dead-letter queue encrypted and TLS-only', () => {
    const queue = built.resources[built.id(ingest('clicks').deadLetterQueue)]?.Properties;
    expect(queue).toMatchObject({
      SqsManagedSseEnabled: true,
      QueueName: 'fstore-dev-clicks-stream-dlq',
    });
    built.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('gives the function its source, the online table and the quarantine bucket', () => {
    const fn = built.resources[built.id(ingest('clicks').function)]?.Properties ?? {};
    expect(fn).toMatchObject({ Architectures: ['arm64'], Runtime: 'nodejs24.x' });
    expect(fn.Environment).toEqual({
      Variables: {
        TABLE_NAME: { Ref: built.tableId },
        SOURCE_NAME: 'clicks',
        QUARANTINE_BUCKET: { Ref: built.bucketId },
        MAX_FUTURE_SKEW_SECONDS: '300',
        PUSH_STREAMS_ENV: 'dev',
      },
    });
  });

  it('has a least-privilege role: its log group, read of its stream, PutItem, the source’s quarantine prefix, the queue', () => {
    const fn = built.resources[built.id(ingest('clicks').function)]?.Properties ?? {};
    const roleId = (fn.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const role = built.resources[roleId]?.Properties ?? {};
    const inline = (role.Policies as { PolicyDocument: { Statement: unknown[] } }[]).flatMap(
      (p) => p.PolicyDocument.Statement,
    );
    const attached = Object.values(built.resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .filter((r) => JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: unknown[] }).Statement);
    const streamArn = { 'Fn::GetAtt': [built.id(ingest('clicks').stream as never), 'Arn'] };
    const logGroupId = Object.keys(built.resources).find(
      (k) =>
        k.startsWith('StreamIngestClicksFunctionLogs') &&
        built.resources[k]?.Type === 'AWS::Logs::LogGroup',
    );
    // What KinesisEventSource and the SQS destination grant: each on its own resource.
    expect([...inline, ...attached]).toEqual([
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
      },
      {
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [built.id(ingest('clicks').deadLetterQueue), 'Arn'] },
      },
      {
        Action: [
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamConsumer',
          'kinesis:DescribeStreamSummary',
          'kinesis:GetRecords',
          'kinesis:GetShardIterator',
          'kinesis:ListShards',
          'kinesis:ListStreams',
          'kinesis:SubscribeToShard',
        ],
        Effect: 'Allow',
        Resource: streamArn,
      },
      {
        Action: 'dynamodb:PutItem',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [built.tableId, 'Arn'] },
      },
      {
        Action: 'firehose:PutRecordBatch',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [built.deliveryId('clicks'), 'Arn'] },
      },
      {
        Action: 's3:PutObject',
        Effect: 'Allow',
        Resource: {
          'Fn::Join': [
            '',
            [{ 'Fn::GetAtt': [built.bucketId, 'Arn'] }, '/quarantine/_stream/clicks/*'],
          ],
        },
      },
    ]);
  });

  it('alarms on the age of the records its event source mapping reads (the function’s IteratorAge), the function’s errors and the dead-letter queue, notifying the topic', () => {
    const alarms = Object.values(built.template.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .filter((p) => String(p.AlarmName).startsWith('fstore-dev-clicks-'));
    expect(alarms.map((a) => [a.AlarmName, a.Namespace, a.MetricName])).toEqual([
      ['fstore-dev-clicks-stream-iterator-age', 'AWS/Lambda', 'IteratorAge'],
      ['fstore-dev-clicks-stream-errors', 'AWS/Lambda', 'Errors'],
      ['fstore-dev-clicks-stream-dlq', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible'],
    ]);
    // This function's mapping only: another reader of the stream falling behind (an imported
    // stream's other consumers) does not raise it.
    expect(alarms[0]).toMatchObject({
      Threshold: 60_000,
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 3,
      TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: built.id(ingest('clicks').function) } }],
    });
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: built.topicId }]);
    const imported = Object.values(built.template.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .find((p) => p.AlarmName === 'fstore-dev-orders-stream-iterator-age');
    expect(imported?.Dimensions).toEqual([
      { Name: 'FunctionName', Value: { Ref: built.id(ingest('orders').function) } },
    ]);
  });

  it('creates the stream whose ARN `fstore iam-policy --for stream-producer` grants, and grants an imported one by its ARN', () => {
    const scope = { partition: 'aws', region: 'eu-west-1', account: '111122223333' };
    const [kinesis] = streamProducerStatements(built.registry, 'dev', scope, ['clicks', 'orders']);
    const created = built.resources[built.id(ingest('clicks').stream as never)];
    expect(kinesis?.Resource).toEqual([
      `arn:aws:kinesis:eu-west-1:111122223333:stream/${String(created?.Properties.Name)}`,
      ordersArn,
    ]);
  });

  it('passes cdk-nag AwsSolutions, each acknowledgement with its reason', () => {
    expect(built.violations).toEqual([]);
  });
});
