import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { OfflineStore } from '../../lib/constructs/offline-store.ts';
import { loadExampleRegistry, synthStage } from './synth-app.ts';

describe('OfflineStore construct', () => {
  it('declares one Glue table per source with the schema, fstore_seq and dt partition projection', async () => {
    const { template, registry } = await synthStage('dev');
    template.hasResourceProperties('AWS::Glue::Database', {
      DatabaseInput: { Name: 'fstore_dev' },
    });
    for (const source of registry.sources) {
      template.hasResourceProperties('AWS::Glue::Table', {
        DatabaseName: 'fstore_dev',
        TableInput: Match.objectLike({
          Name: source.name,
          TableType: 'EXTERNAL_TABLE',
          PartitionKeys: [{ Name: 'dt', Type: 'string' }],
          Parameters: Match.objectLike({
            'projection.enabled': 'true',
            'projection.dt.type': 'date',
            'projection.dt.format': 'yyyy-MM-dd',
            'projection.dt.range': '2000-01-01,NOW',
          }),
          StorageDescriptor: Match.objectLike({
            Columns: [
              ...source.schema.map((c) => Match.objectLike({ Name: c.name })),
              Match.objectLike({ Name: 'fstore_seq', Type: 'bigint' }),
            ],
            SerdeInfo: {
              SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            },
          }),
        }),
      });
    }
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'customer_profiles',
        StorageDescriptor: Match.objectLike({
          Columns: Match.arrayWith([
            { Name: 'monthly_charges', Type: 'double' },
            { Name: 'event_ts', Type: 'timestamp' },
          ]),
        }),
      }),
    });
  });

  it('runs Athena engine v3 with enforced, encrypted results and the stage scan cutoff', async () => {
    for (const env of ['dev', 'prod']) {
      const { template } = await synthStage(env);
      template.hasResourceProperties('AWS::Athena::WorkGroup', {
        Name: `fstore-${env}`,
        WorkGroupConfiguration: Match.objectLike({
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          EnforceWorkGroupConfiguration: true,
          BytesScannedCutoffPerQuery:
            resolveStageConfig(env).offline.athenaBytesScannedCutoffPerQuery,
          ResultConfiguration: Match.objectLike({
            EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          }),
        }),
      });
    }
  });

  it('expires query results and logs data-bucket access', async () => {
    const { template } = await synthStage('dev');
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: {
        DestinationBucketName: Match.anyValue(),
        LogFilePrefix: 'offline-data/',
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'expire-query-results',
            Prefix: 'athena-results/',
            ExpirationInDays: 7,
          }),
        ]),
      },
    });
  });

  it('gives each feature service an entity-request table and a prepared statement', async () => {
    const { template } = await synthStage('dev');
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'fstore_requests_churn_v1',
        PartitionKeys: [{ Name: 'request_id', Type: 'string' }],
        Parameters: Match.objectLike({ 'projection.request_id.type': 'injected' }),
        StorageDescriptor: Match.objectLike({
          Columns: [
            { Name: 'row_key', Type: 'string' },
            { Name: 'customer_id', Type: 'string' },
            { Name: 'event_timestamp', Type: 'timestamp' },
          ],
        }),
      }),
    });
    const statements = template.findResources('AWS::Athena::PreparedStatement');
    const byName = Object.fromEntries(
      Object.values(statements).map((r) => [
        (r as { Properties: { StatementName: string } }).Properties.StatementName,
        (r as { Properties: { QueryStatement: string } }).Properties.QueryStatement,
      ]),
    );
    expect(Object.keys(byName).sort()).toEqual(['fstore_churn_online', 'fstore_churn_v1']);
    expect(byName.fstore_churn_v1).toContain('FROM "fstore_dev"."fstore_requests_churn_v1"');
    expect(byName.fstore_churn_v1?.match(/\?/g)).toHaveLength(1);
  });

  it('grants query access on its workgroup, tables and bucket prefixes only', async () => {
    const app = new App();
    const stack = new Stack(app, 'grant');
    const store = new OfflineStore(stack, 'Offline', {
      stage: resolveStageConfig('dev'),
      registry: await loadExampleRegistry(),
      accessLogsBucket: new s3.Bucket(stack, 'Logs'),
    });
    const role = new iam.Role(stack, 'Job', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
    });
    store.grantQuery(role);
    const statements = Object.values(
      Template.fromStack(stack).findResources('AWS::IAM::Policy'),
    ).flatMap(
      (p) =>
        (
          p as {
            Properties: {
              PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
            };
          }
        ).Properties.PolicyDocument.Statement,
    );
    const actions = statements.flatMap((s) => s.Action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'athena:StartQueryExecution',
        'glue:GetTable',
        'glue:GetPartitions',
        's3:GetObject*',
      ]),
    );
    expect(statements.every((s) => s.Resource !== '*')).toBe(true);
    expect(JSON.stringify(statements)).toContain('offline/*');
    expect(JSON.stringify(statements)).toContain('athena-results/*');
  });
});
