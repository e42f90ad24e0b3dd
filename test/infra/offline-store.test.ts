import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import type { StageConfig } from '../../lib/config/stage-config.ts';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { pascal } from '../../lib/constructs/logical-id.ts';
import { OfflineStore } from '../../lib/constructs/offline-store.ts';
import { SecureBucket } from '../../lib/constructs/secure-bucket.ts';
import type { S3CompactionRecord } from '../../lib/offline/s3-compact-record.ts';
import type { Registry, RegistrySource } from '../../lib/registry/index.ts';
import { loadExampleRegistry, newApp, synthStage, synthWithViolations } from './synth-app.ts';

const gib = 1024 ** 3;

/** Hive types written out by hand, so a wrong mapping in the construct cannot hide here. */
const exampleHiveTypes: Record<string, string> = {
  string: 'string',
  int32: 'int',
  float64: 'double',
  timestamp: 'timestamp',
};

const projection = {
  classification: 'parquet',
  'projection.enabled': 'true',
  'projection.dt.type': 'date',
  'projection.dt.format': 'yyyy-MM-dd',
  'projection.dt.range': '2000-01-01,NOW',
  'projection.dt.interval': '1',
  'projection.dt.interval.unit': 'DAYS',
};

/** `s3://<bucket ref><suffix>` as CloudFormation renders it. */
function s3Url(bucketLogicalId: string, suffix: string) {
  return { 'Fn::Join': ['', ['s3://', { Ref: bucketLogicalId }, suffix]] };
}

function offlineBucketId(template: Template): string {
  const ids = Object.keys(template.findResources('AWS::S3::Bucket')).filter((id) =>
    id.startsWith('OfflineStoreDataBucket'),
  );
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

/** An OfflineStore alone in a stack (no cdk-nag), for construct-level checks. */
async function standaloneStore(options: { stage?: StageConfig; registry?: Registry } = {}) {
  const app = new App();
  const stack = new Stack(app, 'standalone');
  const store = new OfflineStore(stack, 'Offline', {
    stage: options.stage ?? resolveStageConfig('dev'),
    registry: options.registry ?? (await loadExampleRegistry()),
    accessLogsBucket: new s3.Bucket(stack, 'Logs'),
  });
  return { app, stack, store };
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function policyStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties
        .PolicyDocument.Statement,
  );
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('OfflineStore Glue catalog', { timeout: 360_000 }, () => {
  it('declares one Glue table per source with the schema, fstore_seq and dt partition projection', async () => {
    const { template, registry } = await synthStage('dev');
    const bucket = offlineBucketId(template);
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.hasResourceProperties('AWS::Glue::Database', {
      DatabaseInput: { Name: 'fstore_dev' },
    });
    const sourceTables = Object.values(template.findResources('AWS::Glue::Table')).filter(
      (t) =>
        // The push staging tables (ADR 0016) have no partitions.
        (t as { Properties: { TableInput: { PartitionKeys?: { Name: string }[] } } }).Properties
          .TableInput.PartitionKeys?.[0]?.Name === 'dt',
    );
    expect(sourceTables).toHaveLength(registry.sources.length);
    for (const source of registry.sources) {
      expect(source.offline).toEqual({
        glueTable: source.name,
        s3Prefix: `offline/${source.name}/`,
      });
      template.hasResourceProperties('AWS::Glue::Table', {
        DatabaseName: 'fstore_dev',
        TableInput: Match.objectLike({
          Name: source.name,
          TableType: 'EXTERNAL_TABLE',
          PartitionKeys: [{ Name: 'dt', Type: 'string' }],
          Parameters: {
            ...projection,
            'storage.location.template': s3Url(bucket, `/offline/${source.name}/dt=\${dt}`),
          },
          StorageDescriptor: {
            Location: s3Url(bucket, `/offline/${source.name}/`),
            Columns: [
              ...source.schema.map((c) => ({ Name: c.name, Type: exampleHiveTypes[c.type] })),
              Match.objectLike({ Name: 'fstore_seq', Type: 'bigint' }),
            ],
            InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            SerdeInfo: {
              SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            },
          },
        }),
      });
    }
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'customer_profiles',
        StorageDescriptor: Match.objectLike({
          Columns: Match.arrayWith([
            { Name: 'age', Type: 'int' },
            { Name: 'monthly_charges', Type: 'double' },
            { Name: 'event_ts', Type: 'timestamp' },
          ]),
        }),
      }),
    });
    // Partition projection only: nothing scans S3 or repairs partitions.
    template.resourceCountIs('AWS::Glue::Crawler', 0);
  });

  it('has a column for every key of a compaction record, so Athena readers see what it replaces', async () => {
    const { template } = await synthStage('dev');
    const table = Object.values(template.findResources('AWS::Glue::Table')).find(
      (t) =>
        (t as { Properties: { TableInput: { Name: string } } }).Properties.TableInput.Name ===
        'fstore_ingests',
    ) as { Properties: { TableInput: { StorageDescriptor: { Columns: { Name: string }[] } } } };
    const columns = table.Properties.TableInput.StorageDescriptor.Columns.map((c) => c.Name);
    const record: S3CompactionRecord = {
      kind: 'compaction',
      ingestId: '20260301t000000-0a1b2c3d',
      source: 'orders',
      at: '2026-03-01T00:00:00.000Z',
      keepUntil: '2026-03-01T01:00:00.000Z',
      files: [],
      replaces: [],
    };
    // The JSON SerDe matches keys case-insensitively; `source` is the injected partition.
    const keys = Object.keys(record)
      .map((k) => k.toLowerCase())
      .filter((k) => k !== 'source');
    expect(columns).toEqual(expect.arrayContaining(keys));
  });

  it('declares fstore_ingests over offline/_ingests/: the one-line JSON records, source injected, keys case-insensitive', async () => {
    const { template } = await synthStage('dev');
    const bucket = offlineBucketId(template);
    const records = Object.values(template.findResources('AWS::Glue::Table')).filter(
      (t) =>
        (t as { Properties: { TableInput: { Name: string } } }).Properties.TableInput.Name ===
        'fstore_ingests',
    );
    expect(records).toHaveLength(1);
    expect((records[0] as { Properties: unknown }).Properties).toEqual({
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseName: 'fstore_dev',
      TableInput: {
        Name: 'fstore_ingests',
        Description: expect.stringContaining('Committed ingests'),
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [{ Name: 'source', Type: 'string' }],
        Parameters: {
          classification: 'json',
          'projection.enabled': 'true',
          'projection.source.type': 'injected',
          'storage.location.template': s3Url(bucket, `/offline/_ingests/\${source}/`),
        },
        StorageDescriptor: {
          Location: s3Url(bucket, '/offline/_ingests/'),
          Columns: [
            ['ingestid', 'string'],
            ['sha256', 'string'],
            ['file', 'string'],
            ['rows', 'bigint'],
            ['firstseq', 'bigint'],
            ['at', 'string'],
            ['files', 'array<string>'],
            ['kind', 'string'],
            ['replaces', 'array<string>'],
            ['keepuntil', 'string'],
          ].map(([Name, Type]) => expect.objectContaining({ Name, Type })),
          InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          SerdeInfo: {
            SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            Parameters: { 'case.insensitive': 'TRUE', 'ignore.malformed.json': 'FALSE' },
          },
        },
      },
    });
  });

  it('declares fstore_tile_base_ranges over tile-base-ranges/: CSV bucket,first,last, run injected', async () => {
    const { template } = await synthStage('dev');
    const bucket = offlineBucketId(template);
    const tables = Object.values(template.findResources('AWS::Glue::Table')).filter(
      (t) =>
        (t as { Properties: { TableInput: { Name: string } } }).Properties.TableInput.Name ===
        'fstore_tile_base_ranges',
    );
    expect(tables).toHaveLength(1);
    expect((tables[0] as { Properties: unknown }).Properties).toEqual({
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseName: 'fstore_dev',
      TableInput: {
        Name: 'fstore_tile_base_ranges',
        Description: expect.stringContaining('WHERE run ='),
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [{ Name: 'run', Type: 'string' }],
        Parameters: {
          classification: 'csv',
          'projection.enabled': 'true',
          'projection.run.type': 'injected',
          'storage.location.template': s3Url(bucket, `/tile-base-ranges/\${run}/`),
        },
        StorageDescriptor: {
          Location: s3Url(bucket, '/tile-base-ranges/'),
          Columns: [
            ['fstore_bucket', 'bigint'],
            ['fstore_first', 'bigint'],
            ['fstore_last', 'bigint'],
          ].map(([Name, Type]) => expect.objectContaining({ Name, Type })),
          InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          SerdeInfo: {
            SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
            Parameters: { 'field.delim': ',' },
          },
        },
      },
    });
  });

  it('maps every fstore value type to its Hive type', async () => {
    const registry = await loadExampleRegistry();
    const base = registry.sources[0] as RegistrySource;
    const types = {
      i32: ['int32', 'int'],
      i64: ['int64', 'bigint'],
      f32: ['float32', 'float'],
      f64: ['float64', 'double'],
      s: ['string', 'string'],
      b: ['bool', 'boolean'],
      ts: ['timestamp', 'timestamp'],
      li64: ['list<int64>', 'array<bigint>'],
      lb: ['list<bool>', 'array<boolean>'],
      ls: ['list<string>', 'array<string>'],
    } as const;
    const allTypes: RegistrySource = {
      ...base,
      name: 'all_types',
      offline: { glueTable: 'all_types', s3Prefix: 'offline/all_types/' },
      schema: Object.entries(types).map(([name, [type]]) => ({ name, type })),
    };
    const { stack, store } = await standaloneStore({
      registry: { ...registry, sources: [...registry.sources, allTypes] },
    });
    expect([...store.tables.keys()]).toEqual([...registry.sources.map((s) => s.name), 'all_types']);
    Template.fromStack(stack).hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'all_types',
        StorageDescriptor: Match.objectLike({
          Columns: [
            ...Object.entries(types).map(([name, [, hive]]) => ({ Name: name, Type: hive })),
            Match.objectLike({ Name: 'fstore_seq', Type: 'bigint' }),
          ],
        }),
      }),
    });
  });

  it('names the database fstore_<env> with "-" as "_" and the workgroup fstore-<env>', async () => {
    const { stack, store } = await standaloneStore({ stage: resolveStageConfig('prod-eu') });
    expect(store.databaseName).toBe('fstore_prod_eu');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Glue::Database', {
      DatabaseInput: Match.objectLike({ Name: 'fstore_prod_eu' }),
    });
    template.allResourcesProperties('AWS::Glue::Table', { DatabaseName: 'fstore_prod_eu' });
    template.hasResourceProperties('AWS::Athena::WorkGroup', { Name: 'fstore-prod-eu' });
    // Tables are created after their database.
    for (const table of Object.values(template.findResources('AWS::Glue::Table')))
      expect(table.DependsOn).toEqual([stack.getLogicalId(store.database)]);
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
    // The request id and the entity time range (request rows), then the range again in each of
    // its three source scans' WHERE (Athena takes parameters in WHERE clauses only).
    expect(byName.fstore_churn_v1?.match(/\?/g)).toHaveLength(9);
    // Its source reads keep committed ingests only, so it is created after the records table.
    expect(byName.fstore_churn_v1).toContain('"fstore_dev"."fstore_ingests"');
    for (const statement of Object.values(statements))
      expect(statement.DependsOn).toEqual(
        expect.arrayContaining([expect.stringMatching(/^OfflineStoreIngestRecords/)]),
      );
  });
});

describe('OfflineStore Athena workgroup', { timeout: 180_000 }, () => {
  it('runs engine v3 with enforced, encrypted results and the stage scan cutoff', async () => {
    const cutoffs = { dev: 10 * gib, prod: 100 * gib };
    for (const [env, cutoff] of Object.entries(cutoffs)) {
      expect(resolveStageConfig(env).offline.athenaBytesScannedCutoffPerQuery).toBe(cutoff);
      const { template } = await synthStage(env);
      template.resourceCountIs('AWS::Athena::WorkGroup', 1);
      template.hasResourceProperties('AWS::Athena::WorkGroup', {
        Name: `fstore-${env}`,
        RecursiveDeleteOption: env === 'dev',
        WorkGroupConfiguration: {
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          EnforceWorkGroupConfiguration: true,
          PublishCloudWatchMetricsEnabled: true,
          BytesScannedCutoffPerQuery: cutoff,
          ResultConfiguration: {
            OutputLocation: s3Url(offlineBucketId(template), '/athena-results/'),
            EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          },
        },
      });
    }
  });

  it('takes the cutoff from the stage config, not a constant', async () => {
    const stage = resolveStageConfig('dev', {
      offline: { athenaBytesScannedCutoffPerQuery: 3 * gib },
    });
    const { template } = await synthStage(stage);
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 3 * gib }),
    });
  });
});

describe('OfflineStore bucket', { timeout: 180_000 }, () => {
  it('is encrypted, versioned, private, TLS-only and logs access to the access-log bucket', async () => {
    const { template } = await synthStage('dev');
    const bucket = offlineBucketId(template);
    const accessLogs = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) =>
      id.startsWith('AccessLogsBucket'),
    );
    expect(template.toJSON().Resources[bucket].Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: accessLogs },
        LogFilePrefix: 'offline-data/',
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('expires query results after the stage number of days', async () => {
    for (const [env, days] of [
      ['dev', 7],
      ['prod', 30],
    ] as const) {
      expect(resolveStageConfig(env).offline.queryResultsExpirationDays).toBe(days);
      const { template } = await synthStage(env);
      const rules = template.toJSON().Resources[offlineBucketId(template)].Properties
        .LifecycleConfiguration.Rules as { Id: string }[];
      expect(rules.find((r) => r.Id === 'expire-query-results')).toEqual({
        Id: 'expire-query-results',
        Prefix: 'athena-results/',
        ExpirationInDays: days,
        Status: 'Enabled',
      });
    }
  });

  it('is retained with the stack in prod and deleted with it in dev', async () => {
    const prod = await synthStage('prod');
    expect(prod.template.toJSON().Resources[offlineBucketId(prod.template)]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    const dev = await synthStage('dev');
    expect(dev.template.toJSON().Resources[offlineBucketId(dev.template)]).toMatchObject({
      DeletionPolicy: 'Delete',
    });
  });

  it('outputs the bucket, database and workgroup under stable names', async () => {
    const { template } = await synthStage('dev');
    template.hasOutput('OfflineBucketName', { Value: { Ref: offlineBucketId(template) } });
    template.hasOutput('GlueDatabase', { Value: 'fstore_dev' });
    template.hasOutput('AthenaWorkGroup', {
      Value: { Ref: Match.stringLikeRegexp('^OfflineStoreWorkGroup') },
    });
  });

  it('outputs each prepared statement’s parameter order, as the statement’s text has it', async () => {
    const { template } = await synthStage('dev');
    // churn_online: the request id and range, then min and max for each of its three sources.
    template.hasOutput('ServiceChurnOnlineParameters', {
      Value: 'request_id,min,max,min,max,min,max,min,max',
    });
    const statements = template.findResources('AWS::Athena::PreparedStatement');
    const outputs = template.toJSON().Outputs as Record<string, { Value: string }>;
    for (const { Properties } of Object.values(statements)) {
      const name = String(Properties.StatementName).replace(/^fstore_/, '');
      const order = outputs[`Service${pascal(name)}Parameters`]?.Value.split(',') ?? [];
      const marks = String(Properties.QueryStatement).match(/\?/g) ?? [];
      expect(order, name).toHaveLength(marks.length);
    }
  });
});

describe('OfflineStore.grantTrainingSets', () => {
  it('adds writing entity rows under requests/, reading and writing training-sets/ and reading the snapshots to the query grant, nag-clean', async () => {
    const { app, stack, store } = await standaloneStore();
    const role = new iam.Role(stack, 'TrainingJob', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
    });
    store.grantTrainingSets(role);
    const statements = policyStatements(Template.fromStack(stack));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(synthWithViolations(app).violations).toEqual([]);
    const on = (prefix: string) =>
      statements
        .filter((s) => JSON.stringify(s.Resource).includes(`/${prefix}/*`))
        .flatMap((s) => asList(s.Action));
    expect(on('requests')).toEqual(expect.arrayContaining(['s3:PutObject', 's3:GetObject']));
    expect(on('training-sets')).toEqual(
      expect.arrayContaining(['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload']),
    );
    expect(on('offline')).not.toContain('s3:PutObject');
    const listed = statements
      .filter((s) => asList(s.Action).includes('s3:ListBucket'))
      .flatMap((s) => asList(s.Condition?.StringLike?.['s3:prefix'] as string | string[]));
    expect(listed).toContain('training-sets/*');
    // --snapshot reads the snapshot objects; creating or deleting one is an operator's.
    expect(on('_fstore/snapshots')).toEqual(['s3:GetObject']);
    expect(listed).toContain('_fstore/snapshots/*');
    const all = statements.flatMap((s) => asList(s.Action));
    expect(all).toContain('athena:StartQueryExecution');
    expect(all.filter((a) => a.includes('*') || a.startsWith('s3:Delete'))).toEqual([]);
  });
});

describe('OfflineStore.grantQuery', () => {
  async function grantedRole() {
    const { stack, store } = await standaloneStore();
    const role = new iam.Role(stack, 'Job', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
    });
    store.grantQuery(role);
    const template = Template.fromStack(stack);
    return { stack, store, role, template, statements: policyStatements(template) };
  }

  it('grants Athena on the workgroup only', async () => {
    const { stack, store, statements } = await grantedRole();
    const athena = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('athena:')));
    expect(athena).toHaveLength(1);
    expect(asList(athena[0]?.Action ?? []).sort()).toEqual([
      'athena:GetPreparedStatement',
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:StartQueryExecution',
      'athena:StopQueryExecution',
    ]);
    expect(athena[0]?.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':athena:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':workgroup/',
          { Ref: stack.getLogicalId(store.workgroup) },
        ],
      ],
    });
  });

  it('grants Glue reads on the catalog, the database and each table by name', async () => {
    const { statements } = await grantedRole();
    const registry = await loadExampleRegistry();
    const glue = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('glue:')));
    expect(glue).toHaveLength(1);
    expect(asList(glue[0]?.Action ?? []).sort()).toEqual([
      'glue:GetDatabase',
      'glue:GetPartition',
      'glue:GetPartitions',
      'glue:GetTable',
      'glue:GetTables',
    ]);
    const suffixes = asList(glue[0]?.Resource).map((r) => {
      const parts = (r as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      return parts[parts.length - 1];
    });
    expect(suffixes.sort()).toEqual(
      [
        ':catalog',
        ':database/fstore_dev',
        ...registry.sources.map((s) => `:table/fstore_dev/${s.name}`),
        ...registry.featureServices.map((s) => `:table/fstore_dev/fstore_requests_${s.name}`),
        // Every Athena source relation reads the ingest records (ADR 0008).
        ':table/fstore_dev/fstore_ingests',
      ].sort(),
    );
  });

  it('reads offline/* and requests/*, reads and writes athena-results/*, and no "*" resource', async () => {
    const { statements } = await grantedRole();
    const s3Statements = statements.filter((s) =>
      asList(s.Action).some((a) => a.startsWith('s3:')),
    );
    const byPrefix = (prefix: string) =>
      s3Statements.filter((s) => JSON.stringify(s.Resource).includes(`/${prefix}/*`));
    const actions = (prefix: string) => byPrefix(prefix).flatMap((s) => asList(s.Action));
    expect(actions('offline')).toEqual(['s3:GetObject']);
    expect(actions('requests')).toEqual(['s3:GetObject']);
    expect([...new Set(actions('athena-results'))].sort()).toEqual([
      's3:AbortMultipartUpload',
      's3:GetObject',
      's3:ListMultipartUploadParts',
      's3:PutObject',
    ]);
    for (const prefix of ['offline', 'requests'])
      expect(
        actions(prefix).filter((a) => /^s3:(Put|Delete)/.test(a)),
        prefix,
      ).toEqual([]);
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      for (const resource of asList(statement.Resource)) expect(resource).not.toBe('*');
    }
    expect(JSON.stringify(statements)).not.toContain('"*"');
  });

  it('reads the ingest records under offline/_ingests/ through the offline/* read, and lists only its prefixes', async () => {
    const { stack, store, statements } = await grantedRole();
    const bucketArn = {
      'Fn::GetAtt': [stack.getLogicalId(store.bucket.node.defaultChild as s3.CfnBucket), 'Arn'],
    };
    const onObjects = statements.filter((s) =>
      asList(s.Resource).some(
        (r) =>
          JSON.stringify(r) === JSON.stringify({ 'Fn::Join': ['', [bucketArn, '/offline/*']] }),
      ),
    );
    expect(onObjects.flatMap((s) => asList(s.Action))).toContain('s3:GetObject');
    const onBucket = statements.filter((s) =>
      asList(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(bucketArn)),
    );
    const lists = onBucket.filter((s) => asList(s.Action).includes('s3:ListBucket'));
    expect(lists).toHaveLength(1);
    expect(lists[0]?.Condition).toEqual({
      StringLike: { 's3:prefix': ['offline/*', 'requests/*', 'athena-results/*'] },
    });
    // Bucket-level actions without a prefix condition: only Athena's result-location needs.
    expect(
      onBucket
        .filter((s) => !s.Condition)
        .flatMap((s) => asList(s.Action))
        .sort(),
    ).toEqual(['s3:GetBucketLocation', 's3:ListBucketMultipartUploads']);
    // Read only: nothing may write or delete a record (the commit point).
    for (const statement of onObjects)
      expect(asList(statement.Action).filter((a) => /^s3:(Put|Delete)/.test(a))).toEqual([]);
  });

  it('passes cdk-nag: only the S3 prefix wildcards are acknowledged, on the grantee', async () => {
    const app = newApp();
    const stack = new Stack(app, 'grant');
    const logs = new SecureBucket(stack, 'Logs', { retain: false });
    Validations.of(logs.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'test fixture: the access-log bucket itself',
    });
    const store = new OfflineStore(stack, 'Offline', {
      stage: resolveStageConfig('dev'),
      registry: await loadExampleRegistry(),
      accessLogsBucket: logs.bucket,
    });
    const role = new iam.Role(stack, 'Job', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
    });
    store.grantQuery(role);
    // A wildcard of the grantee's own stays a finding: the acknowledgements are per finding.
    const other = new iam.Role(stack, 'Other', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
    });
    store.grantQuery(other);
    other.addToPolicy(new iam.PolicyStatement({ actions: ['glue:GetTable'], resources: ['*'] }));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const acknowledged = role.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.keys(m.data as object))
      .map((id) => id.replace(/^annotation::/i, ''));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const id of acknowledged)
      expect(id).toMatch(
        /^AwsSolutions-IAM5\[Resource::<OfflineDataBucket[0-9A-F]{8}\.Arn>\/(offline|requests|athena-results)\/\*\]$/,
      );
    expect(synthWithViolations(app).violations).toEqual([
      {
        rule: 'AwsSolutions-IAM5[Resource::*]',
        severity: 'error',
        constructs: ['grant/Other/DefaultPolicy/Resource'],
      },
    ]);
  });
});

describe('OfflineStore.grantTileBaseRanges', () => {
  it('grants Glue reads of fstore_tile_base_ranges only and reading and writing tile-base-ranges/*, nag-clean', async () => {
    const app = newApp();
    const stack = new Stack(app, 'ranges');
    const logs = new SecureBucket(stack, 'Logs', { retain: false });
    Validations.of(logs.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'test fixture: the access-log bucket itself',
    });
    const store = new OfflineStore(stack, 'Offline', {
      stage: resolveStageConfig('dev'),
      registry: await loadExampleRegistry(),
      accessLogsBucket: logs.bucket,
    });
    const role = new iam.Role(stack, 'Materializer', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    store.grantTileBaseRanges(role);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const statements = policyStatements(Template.fromStack(stack));
    const glue = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('glue:')));
    expect(glue.flatMap((s) => asList(s.Action)).sort()).toEqual([
      'glue:GetPartition',
      'glue:GetPartitions',
      'glue:GetTable',
    ]);
    const glueResources = JSON.stringify(glue.map((s) => s.Resource));
    expect(glueResources).toContain(':table/fstore_dev/fstore_tile_base_ranges');
    expect(glueResources).not.toMatch(/:table\/fstore_dev\/(?!fstore_tile_base_ranges)/);
    const objects = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('s3:')));
    expect(objects.flatMap((s) => asList(s.Action)).sort()).toEqual([
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    const objectResources = JSON.stringify(objects.map((s) => [s.Resource, s.Condition]));
    expect(objectResources).toContain('/tile-base-ranges/*');
    expect(objectResources).not.toMatch(/\/(offline|athena-results|requests)\//);
    expect(synthWithViolations(app).violations).toEqual([]);
  });
});

describe('OfflineStore.grantQuery without requests (the materializer)', () => {
  it('leaves out prepared statements, the request tables and requests/', async () => {
    const { stack, store } = await standaloneStore();
    const role = new iam.Role(stack, 'Materializer', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    store.grantQuery(role, { readRequests: false });
    const statements = policyStatements(Template.fromStack(stack));
    const text = JSON.stringify(statements);
    expect(text).not.toContain('athena:GetPreparedStatement');
    expect(text).not.toContain('fstore_requests_');
    expect(text).not.toContain('requests/');
    expect(text).toContain(':table/fstore_dev/fstore_ingests');
    expect(text).toContain('athena:StartQueryExecution');
  });

  it('refuses a write prefix that is not one folder ending in "/"', async () => {
    const { stack, store } = await standaloneStore();
    const role = new iam.Role(stack, 'Writer', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    expect(() => store.grantWrite(role, 'quarantine/*')).toThrow(
      'OfflineStore: object prefix "quarantine/*" must be one folder ending in "/"',
    );
  });
});

describe('OfflineStore lifecycle', () => {
  function rulesOf(stack: Stack) {
    const buckets = Template.fromStack(stack).findResources('AWS::S3::Bucket');
    const data = Object.entries(buckets).find(([id]) => id.startsWith('OfflineData'));
    if (!data) throw new Error('no offline data bucket in the template');
    return (data[1] as { Properties: { LifecycleConfiguration: { Rules: unknown[] } } }).Properties
      .LifecycleConfiguration.Rules;
  }

  it('expires requests/, training-sets/, quarantine/ and athena-results/ after the stage days, never offline/', async () => {
    const { stack } = await standaloneStore({ stage: resolveStageConfig('prod') });
    const rules = rulesOf(stack);
    for (const [id, prefix, days] of [
      ['expire-query-results', 'athena-results/', 30],
      ['expire-requests', 'requests/', 365],
      ['expire-training-sets', 'training-sets/', 365],
      ['expire-quarantine', 'quarantine/', 90],
    ] as const)
      expect(rules).toContainEqual({
        Id: id,
        Prefix: prefix,
        ExpirationInDays: days,
        Status: 'Enabled',
      });
    expect(JSON.stringify(rules)).not.toContain('"offline/');
  });

  it('removes the ranges tile base queries ship as data a day after they were written, their versions too (the bucket is versioned)', async () => {
    const { stack } = await standaloneStore({ stage: resolveStageConfig('prod') });
    expect(rulesOf(stack)).toContainEqual({
      Id: 'expire-tile-base-ranges',
      Prefix: 'tile-base-ranges/',
      ExpirationInDays: 1,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      Status: 'Enabled',
    });
  });

  it('writes no expiry rule for a prefix the stage keeps forever', async () => {
    const stage = resolveStageConfig('prod', { offline: { trainingSetsExpirationDays: 'never' } });
    const { stack } = await standaloneStore({ stage });
    const ids = rulesOf(stack).map((r) => (r as { Id: string }).Id);
    expect(ids).not.toContain('expire-training-sets');
    expect(ids).toContain('expire-requests');
  });
});
