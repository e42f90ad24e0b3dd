import { Aws, CfnOutput, Duration } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import type { Registry } from '../registry/index.ts';
import {
  entityRequestColumns,
  entityRequestTable,
  renderServiceRequestSql,
} from '../sql/athena-service-query.ts';
import { glueDatabaseName, hiveType, parquetStorage } from './glue-columns.ts';
import { SecureBucket } from './secure-bucket.ts';

export interface OfflineStoreProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  /** Receives the offline bucket's server access logs. */
  readonly accessLogsBucket: s3.IBucket;
}

/**
 * The offline store of one environment: an S3 bucket with Hive-style Parquet per source
 * (`offline/<source>/dt=YYYY-MM-DD/`), a Glue table per source with partition projection on
 * `dt` (no crawlers, no MSCK REPAIR), and an Athena engine-v3 workgroup with enforced,
 * encrypted results and a per-query scan cutoff. For training jobs that only have Athena, each
 * feature service gets an entity-request table and a prepared statement (`fstore_<service>`).
 */
export class OfflineStore extends Construct {
  readonly bucket: s3.Bucket;
  readonly databaseName: string;
  readonly workgroup: athena.CfnWorkGroup;
  readonly tables: ReadonlyMap<string, glue.CfnTable>;

  constructor(scope: Construct, id: string, props: OfflineStoreProps) {
    super(scope, id);
    const { stage, registry } = props;
    this.bucket = new SecureBucket(this, 'Data', {
      retain: stage.retainData,
      accessLogs: { bucket: props.accessLogsBucket, prefix: 'offline-data/' },
      lifecycleRules: [
        {
          id: 'expire-query-results',
          prefix: 'athena-results/',
          expiration: Duration.days(stage.offline.queryResultsExpirationDays),
        },
      ],
    }).bucket;
    this.databaseName = glueDatabaseName(stage.name);
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: this.databaseName,
        description: `fstore offline store, environment ${stage.name}`,
      },
    });

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
      table.addDependency(database);
      tables.set(source.name, table);
    }
    this.tables = tables;

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

    new CfnOutput(this, 'OfflineBucketName', {
      value: this.bucket.bucketName,
      description: 'fstore ingest --bucket',
    });
    new CfnOutput(this, 'GlueDatabase', { value: this.databaseName });
    new CfnOutput(this, 'AthenaWorkGroup', { value: this.workgroup.ref });
  }

  /** Least privilege to run training-set queries: this workgroup, these tables, this bucket. */
  grantQuery(grantee: iam.IGrantable): void {
    const { partition, region, account } = {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
    };
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
          'athena:GetPreparedStatement',
        ],
        resources: [`arn:${partition}:athena:${region}:${account}:workgroup/${this.workgroup.ref}`],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'glue:GetDatabase',
          'glue:GetTable',
          'glue:GetTables',
          'glue:GetPartition',
          'glue:GetPartitions',
        ],
        resources: [
          `arn:${partition}:glue:${region}:${account}:catalog`,
          `arn:${partition}:glue:${region}:${account}:database/${this.databaseName}`,
          `arn:${partition}:glue:${region}:${account}:table/${this.databaseName}/*`,
        ],
      }),
    );
    this.bucket.grantRead(grantee, 'offline/*');
    this.bucket.grantReadWrite(grantee, 'athena-results/*');
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
    table.addDependency(database);
    const statement = new athena.CfnPreparedStatement(this, `Statement${pascal(service)}`, {
      statementName: `fstore_${service}`,
      workGroup: this.workgroup.ref,
      description: `Point-in-time training set of feature service ${service}: EXECUTE fstore_${service} USING '<request_id>'`,
      queryStatement: renderServiceRequestSql(registry, service, this.databaseName),
    });
    statement.addDependency(table);
  }
}

function pascal(name: string): string {
  return name.replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}
