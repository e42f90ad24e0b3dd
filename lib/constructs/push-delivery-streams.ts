import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import {
  pushErrorPrefix,
  pushStagingPrefix,
  pushStagingTable,
  pushStreamName,
  stagingColumns,
} from '../push/firehose-staging.ts';
import type { Registry } from '../registry/index.ts';
import { retention } from './function-defaults.ts';
import { parquetStorage } from './glue-columns.ts';
import { pascal } from './logical-id.ts';

export interface PushDeliveryStreamsProps {
  /** The environment: names the streams (`fstore-<env>-push-<source>`), log retention, removal. */
  readonly stage: StageConfig;
  /** One stream per source of the registry. */
  readonly registry: Registry;
  /** The offline bucket; streams write only below `offline/_push/` and `offline/_push-errors/`. */
  readonly bucket: s3.IBucket;
  /** The Glue database holding the staging tables (the offline store's). */
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  /** How long Firehose buffers before it writes an object. Default 60 seconds. */
  readonly bufferingInterval?: Duration;
  /** How much Firehose buffers before it writes an object, MiB. Default 64 (the minimum with Parquet). */
  readonly bufferingSizeMiB?: number;
}

/**
 * The AWS offline half of a push (docs/adr/0016-offline-push-on-aws.md): per source a DirectPut
 * Amazon Data Firehose stream (encrypted at rest with an AWS-owned key) that converts the push
 * Lambda's JSON records to Parquet against the source's staging table (`fstore_push_<source>`:
 * the source's columns, timestamps as epoch microseconds, the push identity) and writes them
 * to `offline/_push/<source>/arrived=YYYY-MM-DD/` in the offline bucket (SSE-S3 by the bucket's
 * default), records it cannot convert to `offline/_push-errors/<source>/`, and logs delivery
 * errors to one log group. Each stream has its own role: put objects under its two prefixes,
 * read its staging table, write its log stream; nothing else. Nothing reads the staging prefix
 * but `fstore compact --env <env>`, which ingests it under the ingest commit rule.
 */
export class PushDeliveryStreams extends Construct {
  /** Each source's stream, by source name. */
  readonly streams: ReadonlyMap<string, firehose.CfnDeliveryStream>;
  /** Each source's staging table, by source name. */
  readonly stagingTables: ReadonlyMap<string, glue.CfnTable>;
  readonly logGroup: logs.LogGroup;
  private readonly envName: string;

  constructor(scope: Construct, id: string, props: PushDeliveryStreamsProps) {
    super(scope, id);
    const { stage, bucket } = props;
    this.envName = stage.name;
    this.logGroup = new logs.LogGroup(this, 'DeliveryLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy: stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const stack = Stack.of(this);
    const cfnBucket = bucket.node.defaultChild as s3.CfnBucket | undefined;
    // How cdk-nag names the bucket's ARN in a finding (an imported bucket: its plain ARN).
    const nagBucketArn = cfnBucket
      ? `<${stack.resolve(cfnBucket.logicalId)}.Arn>`
      : bucket.bucketArn;
    const streams = new Map<string, firehose.CfnDeliveryStream>();
    const tables = new Map<string, glue.CfnTable>();
    for (const source of props.registry.sources) {
      const id = pascal(source.name);
      const tableName = pushStagingTable(source.name);
      const table = new glue.CfnTable(this, `Staging${id}`, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: props.databaseName,
        tableInput: {
          name: tableName,
          description: `Pushed rows of source ${source.name} waiting for fstore compact (Firehose's conversion schema; timestamps are epoch microseconds)`,
          tableType: 'EXTERNAL_TABLE',
          parameters: { classification: 'parquet' },
          storageDescriptor: {
            location: `s3://${bucket.bucketName}/${pushStagingPrefix(source.name)}`,
            columns: stagingColumns(source),
            ...parquetStorage,
          },
        },
      });
      table.addResourceDependency(props.database);
      tables.set(source.name, table);

      const logStream = new logs.LogStream(this, `DeliveryLog${id}`, {
        logGroup: this.logGroup,
        logStreamName: `s3-${source.name}`,
        removalPolicy: stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      const role = new iam.Role(this, `Role${id}`, {
        assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
        }),
        description: `Firehose delivery of pushed rows of source ${source.name} (fstore ${stage.name})`,
      });
      const prefixes = [pushStagingPrefix(source.name), pushErrorPrefix(source.name)];
      const objects = prefixes.map((prefix) => `${bucket.bucketArn}/${prefix}*`);
      // The role's default policy: a child of the role, so cdk-nag's findings on it fall under
      // the role's acknowledgements below.
      const statements = [
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: objects,
        }),
        new iam.PolicyStatement({
          actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
          resources: [bucket.bucketArn],
        }),
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
        }),
        new iam.PolicyStatement({
          actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
          resources: [
            stack.formatArn({ service: 'glue', resource: 'catalog' }),
            stack.formatArn({
              service: 'glue',
              resource: 'database',
              resourceName: props.databaseName,
            }),
            stack.formatArn({
              service: 'glue',
              resource: 'table',
              resourceName: `${props.databaseName}/${tableName}`,
            }),
          ],
        }),
        new iam.PolicyStatement({
          actions: ['logs:PutLogEvents'],
          resources: [
            stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: `${this.logGroup.logGroupName}:log-stream:${logStream.logStreamName}`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      ];
      for (const statement of statements) role.addToPolicy(statement);
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/${pushStagingPrefix(source.name)}*]`,
        reason: `Objects under the ${pushStagingPrefix(source.name)} prefix of the offline bucket, which Firehose names itself: PutObject and AbortMultipartUpload only; nothing outside the prefix is granted.`,
      });
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/${pushErrorPrefix(source.name)}*]`,
        reason: `Objects under the ${pushErrorPrefix(source.name)} prefix of the offline bucket: records Firehose could not convert, named by it. PutObject and AbortMultipartUpload only; nothing outside the prefix is granted.`,
      });

      const stream = new firehose.CfnDeliveryStream(this, `Stream${id}`, {
        deliveryStreamName: pushStreamName(stage.name, source.name),
        deliveryStreamType: 'DirectPut',
        deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
        extendedS3DestinationConfiguration: {
          bucketArn: bucket.bucketArn,
          roleArn: role.roleArn,
          prefix: `${pushStagingPrefix(source.name)}arrived=!{timestamp:yyyy-MM-dd}/`,
          errorOutputPrefix: `${pushErrorPrefix(source.name)}!{firehose:error-output-type}/arrived=!{timestamp:yyyy-MM-dd}/`,
          fileExtension: '.parquet',
          bufferingHints: {
            intervalInSeconds: (props.bufferingInterval ?? Duration.seconds(60)).toSeconds(),
            sizeInMBs: props.bufferingSizeMiB ?? 64,
          },
          // Parquet compresses inside the file (SNAPPY below); S3-level compression must be off.
          compressionFormat: 'UNCOMPRESSED',
          cloudWatchLoggingOptions: {
            enabled: true,
            logGroupName: this.logGroup.logGroupName,
            logStreamName: logStream.logStreamName,
          },
          dataFormatConversionConfiguration: {
            enabled: true,
            schemaConfiguration: {
              catalogId: Aws.ACCOUNT_ID,
              databaseName: props.databaseName,
              tableName,
              region: Aws.REGION,
              roleArn: role.roleArn,
              versionId: 'LATEST',
            },
            inputFormatConfiguration: {
              // Keys are the staging table's column names already (identifiers: lower case).
              deserializer: { openXJsonSerDe: {} },
            },
            outputFormatConfiguration: {
              serializer: { parquetSerDe: { compression: 'SNAPPY' } },
            },
          },
        },
      });
      // Firehose checks its role when the stream is created: the policy must exist first.
      stream.node.addDependency(role);
      stream.addResourceDependency(table);
      streams.set(source.name, stream);
    }
    this.streams = streams;
    this.stagingTables = tables;
  }

  /**
   * Lets the push function send rows offline: `firehose:PutRecordBatch` on these streams only,
   * and `PUSH_STREAMS_ENV` naming the environment its stream names are derived from.
   */
  connect(fn: lambda.Function): void {
    if (this.streams.size === 0) return;
    fn.addEnvironment('PUSH_STREAMS_ENV', this.envName);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['firehose:PutRecordBatch'],
        resources: [...this.streams.values()].map((s) => s.attrArn),
      }),
    );
  }
}
