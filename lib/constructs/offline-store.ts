import { Aws, CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { ingestRecordsPrefix, ingestRecordsTable } from '../offline/ingest-records.ts';
import type { Registry } from '../registry/index.ts';
import {
  entityRequestColumns,
  entityRequestTable,
  renderServiceRequestSql,
} from '../sql/athena-service-query.ts';
import { glueDatabaseName, hiveType, parquetStorage } from './glue-columns.ts';
import { pascal } from './logical-id.ts';
import { SecureBucket } from './secure-bucket.ts';

export interface OfflineStoreProps {
  /**
   * The environment: its name names the Glue database (`fstore_<env>`) and the workgroup
   * (`fstore-<env>`); `offline` gives the per-query scan cutoff and the query-results expiry;
   * `retainData` keeps the bucket when the stack is deleted.
   */
  readonly stage: StageConfig;
  /** The compiled registry: one Glue table per source, one request table per feature service. */
  readonly registry: Registry;
  /** Receives the offline bucket's server access logs (prefix `offline-data/`). */
  readonly accessLogsBucket: s3.IBucket;
}

/**
 * Expiry of the prefixes that hold copies and by-products, never of `offline/` itself:
 * query results, training-set requests and outputs, quarantined rows (a `never` stage setting
 * gives no rule). Noncurrent versions then go by the bucket's own rule.
 */
export function expiryRules(offline: StageConfig['offline']): s3.LifecycleRule[] {
  const rules: [id: string, prefix: string, days: number | 'never'][] = [
    ['expire-query-results', 'athena-results/', offline.queryResultsExpirationDays],
    ['expire-requests', 'requests/', offline.requestsExpirationDays],
    ['expire-training-sets', 'training-sets/', offline.trainingSetsExpirationDays],
    ['expire-quarantine', 'quarantine/', offline.quarantineExpirationDays],
  ];
  return rules.flatMap(([id, prefix, days]) =>
    days === 'never' ? [] : [{ id, prefix, expiration: Duration.days(days) }],
  );
}

/**
 * The offline store of one environment: an S3 bucket with Hive-style Parquet per source
 * (`offline/<source>/dt=YYYY-MM-DD/`), a Glue table per source with partition projection on
 * `dt` (no crawlers, no MSCK REPAIR), and an Athena engine-v3 workgroup with enforced,
 * encrypted results and a per-query scan cutoff. For training jobs that only have Athena, each
 * feature service gets an entity-request table and a prepared statement (`fstore_<service>`).
 */
export class OfflineStore extends Construct {
  /** Offline data under `offline/<source>/dt=YYYY-MM-DD/`, query results under `athena-results/`. */
  readonly bucket: s3.Bucket;
  /** The Glue database `fstore_<env>` holding every table below. */
  readonly database: glue.CfnDatabase;
  /** Name of `database`, a plain string usable in SQL. */
  readonly databaseName: string;
  /** The Athena workgroup `fstore-<env>`; its `ref` is the workgroup name. */
  readonly workgroup: athena.CfnWorkGroup;
  /** The Glue table of each registry source, by source name. */
  readonly tables: ReadonlyMap<string, glue.CfnTable>;
  /**
   * `fstore_ingests`: one row per committed ingest (the JSON records under `offline/_ingests/`),
   * partitioned by `source`. fstore's Athena queries read only the objects of these ingests.
   */
  readonly ingestRecords: glue.CfnTable;
  /** Names of every Glue table this construct declares: sources and entity requests. */
  private readonly tableNames: string[] = [];
  /** Names of the entity-request tables among `tableNames`. */
  private readonly requestTableNames: string[] = [];

  constructor(scope: Construct, id: string, props: OfflineStoreProps) {
    super(scope, id);
    const { stage, registry } = props;
    this.bucket = new SecureBucket(this, 'Data', {
      retain: stage.retainData,
      accessLogs: { bucket: props.accessLogsBucket, prefix: 'offline-data/' },
      lifecycleRules: expiryRules(stage.offline),
    }).bucket;
    this.databaseName = glueDatabaseName(stage.name);
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: this.databaseName,
        description: `fstore offline store, environment ${stage.name}`,
      },
    });
    this.database = database;

    const tables = new Map<string, glue.CfnTable>();
    for (const source of registry.sources) {
      const location = `s3://${this.bucket.bucketName}/${source.offline.s3Prefix}`;
      const table = new glue.CfnTable(this, `Table${pascal(source.name)}`, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: this.databaseName,
        tableInput: {
          name: source.offline.glueTable,
          description: source.description ?? `fstore source ${source.name}`,
          tableType: 'EXTERNAL_TABLE',
          partitionKeys: [{ name: 'dt', type: 'string' }],
          parameters: {
            classification: 'parquet',
            'projection.enabled': 'true',
            'projection.dt.type': 'date',
            'projection.dt.format': 'yyyy-MM-dd',
            'projection.dt.range': '2000-01-01,NOW',
            'projection.dt.interval': '1',
            'projection.dt.interval.unit': 'DAYS',
            'storage.location.template': `${location}dt=\${dt}`,
          },
          storageDescriptor: {
            location,
            columns: [
              ...source.schema.map((c) => ({ name: c.name, type: hiveType(c.type) })),
              { name: 'fstore_seq', type: 'bigint', comment: 'ingest order; last tie-break' },
            ],
            ...parquetStorage,
          },
        },
      });
      table.addResourceDependency(database);
      tables.set(source.name, table);
      this.tableNames.push(source.offline.glueTable);
    }
    this.tables = tables;
    this.ingestRecords = this.addIngestRecordsTable(database);

    this.workgroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: `fstore-${stage.name}`,
      description: `fstore training sets, environment ${stage.name}`,
      recursiveDeleteOption: !stage.retainData,
      workGroupConfiguration: {
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: stage.offline.athenaBytesScannedCutoffPerQuery,
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/athena-results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    for (const service of registry.featureServices)
      this.addServiceRequestObjects(service.name, registry, database);

    // Stack-level output names (no construct-path hash): the CLI and README refer to them.
    const outputs = {
      OfflineBucketName: [this.bucket.bucketName, 'Offline bucket: fstore ingest --bucket'],
      GlueDatabase: [this.databaseName, 'Glue database of the offline tables'],
      AthenaWorkGroup: [this.workgroup.ref, 'Athena workgroup for offline queries'],
    } as const;
    for (const [name, [value, description]] of Object.entries(outputs))
      new CfnOutput(this, name, { value, description }).overrideLogicalId(name);
  }

  /**
   * Least privilege to run Athena queries in this workgroup against this construct's tables:
   * Athena on the workgroup ARN; Glue reads on the catalog, the database and each table ARN (no
   * wildcard), `fstore_ingests` included, since every source relation reads it; S3 `GetObject`
   * under `offline/` (the source data and, under `offline/_ingests/`, the ingest records);
   * Athena's result writes and reads under `athena-results/` (no deletes); `ListBucket` only
   * with an `s3:prefix` under those prefixes. With `readRequests` (the default), also the
   * entity-request tables, `requests/` and the prepared statements; a principal that never
   * reads training-set requests (the materializer) passes `readRequests: false` and gets none.
   */
  grantQuery(grantee: iam.IGrantable, options: { readRequests?: boolean } = {}): void {
    const readRequests = options.readRequests !== false;
    const stack = Stack.of(this);
    const glueArn = (resource: string, resourceName?: string) =>
      stack.formatArn({
        service: 'glue',
        resource,
        ...(resourceName === undefined ? {} : { resourceName }),
      });
    iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
        ...(readRequests ? ['athena:GetPreparedStatement'] : []),
      ],
      resourceArns: [
        stack.formatArn({
          service: 'athena',
          resource: 'workgroup',
          resourceName: this.workgroup.ref,
        }),
      ],
    });
    const tables = readRequests
      ? this.tableNames
      : this.tableNames.filter((table) => !this.requestTableNames.includes(table));
    iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:GetTables',
        'glue:GetPartition',
        'glue:GetPartitions',
      ],
      resourceArns: [
        glueArn('catalog'),
        glueArn('database', this.databaseName),
        ...tables.map((table) => glueArn('table', `${this.databaseName}/${table}`)),
      ],
    });
    this.grantObjects(grantee, {
      read: ['offline/', ...(readRequests ? ['requests/'] : []), 'athena-results/'],
      writtenByAthena: ['athena-results/'],
    });
    // Athena's documented needs on a query result location; neither takes an s3:prefix.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
      resourceArns: [this.bucket.bucketArn],
    });
  }

  /**
   * What `fstore training-set --env <aws>` needs under a job's role: `grantQuery`, plus writing
   * entity rows under `requests/` and the UNLOADed training sets under `training-sets/` (read
   * back and listed for the download). No deletes.
   */
  grantTrainingSets(grantee: iam.IGrantable): void {
    this.grantQuery(grantee);
    this.grantObjects(grantee, {
      read: ['training-sets/'],
      write: ['requests/'],
      writtenByAthena: ['training-sets/'],
    });
  }

  /** `PutObject` on the objects under `prefix` (e.g. `quarantine/`), nothing else. */
  grantWrite(grantee: iam.IGrantable, prefix: string): void {
    this.grantObjects(grantee, { write: [prefix] });
  }

  /**
   * Object access under key prefixes (each ending in `/`): `read` gets `GetObject` and
   * `ListBucket` with an `s3:prefix` condition limited to those prefixes; `write` gets
   * `PutObject`; `writtenByAthena` adds the multipart calls Athena makes when it writes query
   * results or UNLOAD files as the caller. Each object-ARN wildcard is acknowledged on the
   * grantee with the prefix it is limited to (so its other wildcards still fail cdk-nag).
   */
  private grantObjects(
    grantee: iam.IGrantable,
    access: { read?: string[]; write?: string[]; writtenByAthena?: string[] },
  ): void {
    const { read = [], write = [], writtenByAthena = [] } = access;
    for (const prefix of [...read, ...write, ...writtenByAthena])
      if (!/^[a-z][a-z0-9_-]*\/$/.test(prefix))
        throw new Error(
          `OfflineStore: object prefix "${prefix}" must be one folder ending in "/", like "quarantine/"`,
        );
    const objects = (prefixes: string[]) => prefixes.map((p) => this.bucket.arnForObjects(`${p}*`));
    if (read.length > 0) {
      iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: objects(read) });
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:ListBucket'],
        resourceArns: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': read.map((p) => `${p}*`) } },
      });
    }
    if (write.length > 0)
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:PutObject'],
        resourceArns: objects(write),
      });
    if (writtenByAthena.length > 0)
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resourceArns: objects(writtenByAthena),
      });
    const principal = grantee.grantPrincipal;
    if (!Construct.isConstruct(principal)) return;
    const cfnBucket = this.bucket.node.defaultChild as s3.CfnBucket;
    const bucketArn = `<${Stack.of(this).resolve(cfnBucket.logicalId)}.Arn>`;
    for (const prefix of new Set([...read, ...write, ...writtenByAthena]))
      Validations.of(principal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${bucketArn}/${prefix}*]`,
        reason: `Objects under the ${prefix} prefix of the offline bucket: a prefix grant is a wildcard on object keys; nothing outside the prefix is granted.`,
      });
  }

  /**
   * The commit records of `fstore ingest --env <aws>` (ADR 0008), one JSON object per line, read
   * with the OpenX JSON SerDe (keys matched case-insensitively: `ingestId` is `ingestid`). The
   * `source` partition is injected, so a query names one source (`WHERE source = '<name>'`) and
   * lists only `offline/_ingests/<source>/`; both record layouts below it are read, since Athena
   * reads every object under a partition's location, subfolders (`<sha256>/`) included. Names
   * starting with `_` are hidden only below the location, so `_ingests` itself is not.
   */
  private addIngestRecordsTable(database: glue.CfnDatabase): glue.CfnTable {
    const location = `s3://${this.bucket.bucketName}/${ingestRecordsPrefix}`;
    const table = new glue.CfnTable(this, 'IngestRecords', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: ingestRecordsTable,
        description:
          'Committed ingests of the offline store, one row per ingest record; query with WHERE source = ...',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ name: 'source', type: 'string' }],
        parameters: {
          classification: 'json',
          'projection.enabled': 'true',
          'projection.source.type': 'injected',
          'storage.location.template': `${location}\${source}/`,
        },
        storageDescriptor: {
          location,
          columns: [
            {
              name: 'ingestid',
              type: 'string',
              comment: 'names the data objects <ingestid>-<n>.parquet',
            },
            { name: 'sha256', type: 'string', comment: 'of the ingested file' },
            { name: 'file', type: 'string', comment: 'name of the ingested file' },
            { name: 'rows', type: 'bigint' },
            { name: 'firstseq', type: 'bigint', comment: 'fstore_seq of the first row' },
            { name: 'at', type: 'string', comment: 'commit time, ISO 8601' },
            { name: 'files', type: 'array<string>', comment: 'object keys; absent in old records' },
          ],
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            // A record that does not parse fails the query rather than hiding an ingest.
            parameters: { 'case.insensitive': 'TRUE', 'ignore.malformed.json': 'FALSE' },
          },
        },
      },
    });
    table.addResourceDependency(database);
    this.tableNames.push(ingestRecordsTable);
    return table;
  }

  private addServiceRequestObjects(
    service: string,
    registry: Registry,
    database: glue.CfnDatabase,
  ): void {
    const location = `s3://${this.bucket.bucketName}/requests/${service}/`;
    const table = new glue.CfnTable(this, `Requests${pascal(service)}`, {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: entityRequestTable(service),
        description: `Entity rows of training-set requests for feature service ${service}; one request_id per request`,
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ name: 'request_id', type: 'string' }],
        parameters: {
          classification: 'parquet',
          'projection.enabled': 'true',
          'projection.request_id.type': 'injected',
          'storage.location.template': `${location}request_id=\${request_id}`,
        },
        storageDescriptor: {
          location,
          columns: entityRequestColumns(registry, service).map((c) => ({
            name: c.name,
            type: hiveType(c.type),
          })),
          ...parquetStorage,
        },
      },
    });
    table.addResourceDependency(database);
    this.tableNames.push(entityRequestTable(service));
    this.requestTableNames.push(entityRequestTable(service));
    const statement = new athena.CfnPreparedStatement(this, `Statement${pascal(service)}`, {
      statementName: `fstore_${service}`,
      workGroup: this.workgroup.ref,
      description: `Point-in-time training set of feature service ${service}: EXECUTE fstore_${service} USING '<request_id>', TIMESTAMP '<min event_timestamp>', TIMESTAMP '<max event_timestamp>'`,
      queryStatement: renderServiceRequestSql(registry, service, this.databaseName),
    });
    statement.addResourceDependency(table);
    // Its source reads name the ingest records table too.
    statement.addResourceDependency(this.ingestRecords);
  }
}
