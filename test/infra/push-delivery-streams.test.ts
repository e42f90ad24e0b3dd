import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { OfflineStore } from '../../lib/constructs/offline-store.ts';
import { OnlineStore } from '../../lib/constructs/online-store.ts';
import { PushDeliveryStreams } from '../../lib/constructs/push-delivery-streams.ts';
import { ServingApi } from '../../lib/constructs/serving-api.ts';
import { falseAcknowledgements } from './acknowledgement-claims.ts';
import { cdkJsonContext, loadExampleRegistry } from './synth-app.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };

/** Offline store, push route and the streams wired as FstoreStack wires them; cdk-nag's findings. */
async function synth() {
  const app = new App({ context: cdkJsonContext() });
  const stack = new Stack(app, 'streams-dev');
  const stage = resolveStageConfig('dev');
  const registry = await loadExampleRegistry();
  const logsBucket = new s3.Bucket(stack, 'Logs', { enforceSSL: true });
  Validations.of(logsBucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'test fixture' });
  const offline = new OfflineStore(stack, 'OfflineStore', {
    stage,
    registry,
    accessLogsBucket: logsBucket,
  });
  const online = new OnlineStore(stack, 'OnlineStore', { stage });
  const serving = new ServingApi(stack, 'ServingApi', { stage, registry, table: online.table });
  const streams = new PushDeliveryStreams(stack, 'PushStreams', {
    stage,
    registry,
    bucket: offline.bucket,
    database: offline.database,
    databaseName: offline.databaseName,
  });
  streams.connect(serving.push.function);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const report = JSON.parse(
    readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'),
  ) as { pluginReports: { violations?: unknown[] }[] };
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
  return {
    registry,
    template,
    resources: template.toJSON().Resources as Record<string, Resource>,
    bucketId: id(offline.bucket),
    pushFunctionId: id(serving.push.function),
    streamIds: [...streams.streams.values()].map((s) => stack.resolve(s.logicalId) as string),
    violations: report.pluginReports.flatMap((r) => r.violations ?? []),
    falseAcknowledgements: falseAcknowledgements(streams, template),
  };
}

let synthesized: Awaited<ReturnType<typeof synth>>;
// Bundling two functions and running cdk-nag takes a minute on a busy machine.
beforeAll(async () => {
  synthesized = await synth();
}, 600_000);

function statementsOfRole(resources: Record<string, Resource>, roleId: string): unknown[] {
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) => (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: unknown[] }).Statement);
}

describe('offline push on AWS: one Firehose stream per source (PushDeliveryStreams)', () => {
  it('gives every source an encrypted DirectPut stream writing Parquet under offline/_push/<source>/, errors apart, with logging', async () => {
    const { template, registry } = synthesized;
    template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', registry.sources.length);
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamName: 'fstore-dev-push-orders',
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: 'offline/_push/orders/arrived=!{timestamp:yyyy-MM-dd}/',
        ErrorOutputPrefix:
          'offline/_push-errors/orders/!{firehose:error-output-type}/arrived=!{timestamp:yyyy-MM-dd}/',
        FileExtension: '.parquet',
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 64 },
        CloudWatchLoggingOptions: Match.objectLike({ Enabled: true }),
        DataFormatConversionConfiguration: Match.objectLike({
          Enabled: true,
          SchemaConfiguration: Match.objectLike({
            DatabaseName: 'fstore_dev',
            TableName: 'fstore_push_orders',
          }),
          OutputFormatConfiguration: {
            Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } },
          },
        }),
      }),
    });
  });

  it('converts against a staging table with the source columns, timestamps as bigint microseconds, and the push identity', async () => {
    const { template } = synthesized;
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'fstore_push_orders',
        StorageDescriptor: Match.objectLike({
          Columns: [
            { Name: 'order_id', Type: 'string' },
            { Name: 'customer_id', Type: 'string' },
            { Name: 'amount', Type: 'double' },
            { Name: 'category', Type: 'string' },
            { Name: 'event_ts', Type: 'bigint' },
            { Name: 'created_ts', Type: 'bigint' },
            { Name: 'fstore_push_id', Type: 'string' },
            { Name: 'fstore_push_row', Type: 'int' },
            { Name: 'fstore_idempotency_key', Type: 'string' },
            { Name: 'fstore_push_tiled', Type: 'boolean' },
            { Name: 'fstore_push_tiles', Type: 'array<string>' },
            { Name: 'fstore_push_key', Type: 'string' },
          ],
        }),
      }),
    });
  });

  it("gives each stream's role its own prefixes, its staging table and its log stream, nothing else", async () => {
    const { resources, bucketId } = synthesized;
    const source = 'customer_profiles';
    const stream = Object.values(resources).find(
      (r) => r.Properties?.DeliveryStreamName === `fstore-dev-push-${source}`,
    )?.Properties as {
      ExtendedS3DestinationConfiguration: { RoleARN: { 'Fn::GetAtt': [string, string] } };
    };
    const roleId = stream.ExtendedS3DestinationConfiguration.RoleARN['Fn::GetAtt'][0];
    const statements = JSON.stringify(statementsOfRole(resources, roleId));
    expect(statements).toContain(`/offline/_push/${source}/*`);
    expect(statements).toContain(`/offline/_push-errors/${source}/*`);
    expect(statements).not.toContain('/offline/_push/orders/');
    expect(statements).not.toContain('s3:GetObject');
    expect(statements).not.toContain('s3:DeleteObject');
    expect(statements).toContain(`fstore_dev/fstore_push_${source}`);
    const logStreamId = Object.entries(resources).find(
      ([, r]) => r.Type === 'AWS::Logs::LogStream' && r.Properties.LogStreamName === `s3-${source}`,
    )?.[0];
    expect(statements).toContain(`:log-stream:",{"Ref":"${logStreamId}"}`);
    expect(statements).toContain(bucketId);
    const actions = (statementsOfRole(resources, roleId) as { Action: string | string[] }[])
      .flatMap((s) => s.Action)
      .sort();
    expect(statements).toContain(
      `"s3:prefix":["offline/_push/${source}/*","offline/_push-errors/${source}/*"]`,
    );
    expect(actions).toEqual([
      'glue:GetTable',
      'glue:GetTableVersion',
      'glue:GetTableVersions',
      'logs:PutLogEvents',
      's3:AbortMultipartUpload',
      's3:GetBucketLocation',
      's3:ListBucket',
      's3:ListBucketMultipartUploads',
      's3:PutObject',
    ]);
  });

  it('lets the push function PutRecordBatch on these streams only and tells it the environment', async () => {
    const { resources, pushFunctionId, streamIds } = synthesized;
    const fn = resources[pushFunctionId]?.Properties as {
      Environment: { Variables: Record<string, unknown> };
      Role: { 'Fn::GetAtt': [string, string] };
    };
    expect(fn.Environment.Variables.PUSH_STREAMS_ENV).toBe('dev');
    const firehose = (
      statementsOfRole(resources, fn.Role['Fn::GetAtt'][0]) as {
        Action: string | string[];
        Resource: unknown;
      }[]
    ).filter((s) => JSON.stringify(s.Action).includes('firehose'));
    expect(firehose).toEqual([
      {
        Action: 'firehose:PutRecordBatch',
        Effect: 'Allow',
        Resource: streamIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
      },
    ]);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding, each acknowledgement true of its role', async () => {
    const { violations } = synthesized;
    expect(violations).toEqual([]);
    expect(synthesized.falseAcknowledgements).toEqual([]);
  });
});
