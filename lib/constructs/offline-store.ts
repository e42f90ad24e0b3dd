import { Aws, CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { athenaWorkGroupName } from '../iam/environment-resources.ts';
import {
  compactStatements,
  ingestStatements,
  type ObjectAccess,
  type OfflineStoreResources,
  objectStatements,
  queryStatements,
  trainingStatements,
} from '../iam/offline-policy.ts';
import type { PolicyStatement } from '../iam/policy-statement.ts';
import { tileBaseRangesPrefix, tileBaseRangesTable } from '../materialize/tile-base-ranges.ts';
import { unloadFolder } from '../materialize/unload-folder.ts';
import { ingestRecordsPrefix, ingestRecordsTable } from '../offline/ingest-records.ts';
import type { Registry } from '../registry/index.ts';
import {
  entityRequestColumns,
  entityRequestPrefix,
  entityRequestTable,
  renderServiceRequest,
  servicePreparedStatement,
} from '../sql/athena-service-query.ts';
import { serviceOutputNames, stackOutputNames } from '../stacks/stack-outputs.ts';
import { glueDatabaseName, hiveType, parquetStorage } from './glue-columns.ts';
import { pascal } from './logical-id.ts';
import { SecureBucket } from './secure-bucket.ts';
import { addTileBaseRangesTable } from './tile-base-ranges-table.ts';

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
 * gives no rule), and the UNLOAD output of sharded runs (whether or not a view is sharded now,
 * so an earlier run's folders go too). Noncurrent versions then go by the bucket's own rule,
 * but for the ranges tile base queries ship as data, which go the same day as the objects.
 */
export function expiryRules(
  stage: Pick<StageConfig, 'offline' | 'materialization'>,
): s3.LifecycleRule[] {
  const { offline } = stage;
  const rules: [id: string, prefix: string, days: number | 'never'][] = [
    ['expire-query-results', 'athena-results/', offline.queryResultsExpirationDays],
    ['expire-requests', 'requests/', offline.requestsExpirationDays],
    ['expire-training-sets', 'training-sets/', offline.trainingSetsExpirationDays],
    ['expire-quarantine', 'quarantine/', offline.quarantineExpirationDays],
    [
      'expire-materialize-unload',
      unloadFolder,
      stage.materialization.sharding.unloadExpirationDays,
    ],
    // Read by the one query that wrote them, seconds later.
    ['expire-tile-base-ranges', tileBaseRangesPrefix, 1],
  ];
  return rules.flatMap(([id, prefix, days]) =>
    days === 'never'
      ? []
      : [
          {
            id,
            prefix,
            expiration: Duration.days(days),
            // Up to a few MB per base query (50,000 ranges: 3 MB), needed by no one after it:
            // not kept for the bucket's 90 days of noncurrent versions.
            ...(prefix === tileBaseRangesPrefix
              ? { noncurrentVersionExpiration: Duration.days(days) }
              : {}),
          },
        ],
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
  /** `fstore_tile_base_ranges`: the ranges tile base queries ship as data (materializers only). */
  readonly tileBaseRanges: glue.CfnTable;
  /** Names of every Glue table this construct declares: sources and entity requests. */
  private readonly tableNames: string[] = [];
  /** Names of the entity-request tables among `tableNames`. */
  private readonly requestTableNames: string[] = [];
  /** Each service's prepared-statement parameter order (its `Service<Name>Parameters` output). */
  private readonly statementParameters = new Map<string, readonly string[]>();
  /** The registry's sources: name and prefix under the bucket, for `grantIngest` and `grantCompact`. */
  private readonly sources: readonly { name: string; s3Prefix: string }[];

  constructor(scope: Construct, id: string, props: OfflineStoreProps) {
    super(scope, id);
    const { stage, registry } = props;
    this.sources = registry.sources.map((s) => ({ name: s.name, s3Prefix: s.offline.s3Prefix }));
    this.bucket = new SecureBucket(this, 'Data', {
      retain: stage.retainData,
      accessLogs: { bucket: props.accessLogsBucket, prefix: 'offline-data/' },
      lifecycleRules: expiryRules(stage),
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
    this.tileBaseRanges = addTileBaseRangesTable(this, {
      bucketName: this.bucket.bucketName,
      database,
      databaseName: this.databaseName,
    });

    this.workgroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: athenaWorkGroupName(stage.name),
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
    const outputs: [name: string, value: string, description: string][] = [
      [
        stackOutputNames.offlineBucket,
        this.bucket.bucketName,
        'Offline bucket: fstore ingest --bucket',
      ],
      [stackOutputNames.glueDatabase, this.databaseName, 'Glue database of the offline tables'],
      [
        stackOutputNames.athenaWorkGroup,
        this.workgroup.ref,
        'Athena workgroup for offline queries',
      ],
      ...registry.featureServices.flatMap(({ name }) => {
        const names = serviceOutputNames(name);
        return [
          [
            names.requestTable,
            entityRequestTable(name),
            `Glue table of the entity rows of ${name}'s training-set requests`,
          ],
          [
            names.statement,
            servicePreparedStatement(name),
            `Prepared statement of ${name}: EXECUTE ... USING one literal per name of ${names.parameters}`,
          ],
          [
            names.parameters,
            (this.statementParameters.get(name) ?? []).join(','),
            `What each ? of ${servicePreparedStatement(name)} stands for, in USING order: 'request_id', TIMESTAMP min or max of the request's event_timestamp (min rounded down, max up to the millisecond)`,
          ],
          [
            names.requestPrefix,
            `s3://${this.bucket.bucketName}/${entityRequestPrefix(name)}`,
            `Where a request's entity rows go: <prefix>request_id=<id>/<file>.parquet`,
          ],
        ] as [string, string, string][];
      }),
    ];
    for (const [name, value, description] of outputs)
      new CfnOutput(this, name, { value, description }).overrideLogicalId(name);
  }

  /**
   * The names and ARNs this construct's grants name, as `lib/iam/offline-policy.ts` takes them:
   * the same functions print the policy of a role outside this app (`fstore iam-policy`).
   */
  get policyResources(): OfflineStoreResources {
    const stack = Stack.of(this);
    return {
      scope: { partition: stack.partition, region: stack.region, account: stack.account },
      bucketArn: this.bucket.bucketArn,
      databaseName: this.databaseName,
      workGroupName: this.workgroup.ref,
      dataTables: this.tableNames.filter((table) => !this.requestTableNames.includes(table)),
      requestTables: this.requestTableNames,
    };
  }

  /**
   * Least privilege to run Athena queries in this workgroup against this construct's tables
   * (`queryStatements`). With `readRequests` (the default), also the entity-request tables,
   * `requests/` and the prepared statements; a principal that never reads training-set requests
   * (the materializer) passes `readRequests: false` and gets none.
   */
  grantQuery(grantee: iam.IGrantable, options: { readRequests?: boolean } = {}): void {
    this.grantStatements(
      grantee,
      queryStatements(this.policyResources, { readRequests: options.readRequests !== false }),
    );
  }

  /**
   * What a training job needs under its role (`trainingStatements`): `grantQuery`, reading the
   * workgroup, writing entity rows under `requests/` and the UNLOADed training sets under
   * `training-sets/`. No deletes.
   */
  grantTrainingSets(grantee: iam.IGrantable): void {
    this.grantStatements(grantee, trainingStatements(this.policyResources));
  }

  /** What `fstore ingest --env <aws>` needs for every source of the registry (`ingestStatements`). */
  grantIngest(grantee: iam.IGrantable): void {
    this.grantStatements(grantee, ingestStatements(this.bucket.bucketArn, this.sources));
  }

  /**
   * What `fstore compact --env <aws>` needs for every source of the registry
   * (`compactStatements`, the same statements `fstore iam-policy --for compact` prints).
   */
  grantCompact(grantee: iam.IGrantable): void {
    this.grantStatements(grantee, compactStatements(this.bucket.bucketArn, this.sources));
  }

  /**
   * The object access `access` names (objectStatements: prefixes only, each wildcard
   * acknowledged with its prefix), e.g. the sharded-materialization UNLOAD folder.
   */
  grantObjects(grantee: iam.IGrantable, access: ObjectAccess): void {
    this.grantStatements(grantee, objectStatements(this.bucket.bucketArn, access));
  }

  /**
   * What a materializer needs to ship a tile base query's ranges as data: writing and reading
   * (Athena reads as the caller) under `tile-base-ranges/`, and Glue reads of its table only.
   */
  grantTileBaseRanges(grantee: iam.IGrantable): void {
    const { scope, databaseName } = this.policyResources;
    const glueArn = (resource: string) =>
      `arn:${scope.partition}:glue:${scope.region}:${scope.account}:${resource}`;
    this.grantStatements(grantee, [
      {
        Effect: 'Allow',
        Action: ['glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        Resource: [
          glueArn('catalog'),
          glueArn(`database/${databaseName}`),
          glueArn(`table/${databaseName}/${tileBaseRangesTable}`),
        ],
      },
      ...objectStatements(this.bucket.bucketArn, {
        read: [tileBaseRangesPrefix],
        write: [tileBaseRangesPrefix],
      }),
    ]);
  }

  /** `PutObject` on the objects under `prefix` (e.g. `quarantine/`), nothing else. */
  grantWrite(grantee: iam.IGrantable, prefix: string): void {
    if (!/^[a-z][a-z0-9_-]*\/$/.test(prefix))
      throw new Error(
        `OfflineStore: object prefix "${prefix}" must be one folder ending in "/", like "quarantine/"`,
      );
    this.grantStatements(grantee, objectStatements(this.bucket.bucketArn, { write: [prefix] }));
  }

  /**
   * Adds `statements` to the grantee's policy. Each object-ARN wildcard is acknowledged on the
   * grantee with the prefix it is limited to (so its other wildcards still fail cdk-nag).
   */
  private grantStatements(grantee: iam.IGrantable, statements: readonly PolicyStatement[]): void {
    for (const statement of statements)
      iam.Grant.addToPrincipal({
        grantee,
        actions: [...statement.Action],
        resourceArns: [...statement.Resource],
        ...(statement.Condition ? { conditions: statement.Condition } : {}),
      });
    const principal = grantee.grantPrincipal;
    if (!Construct.isConstruct(principal)) return;
    const objects = `${this.bucket.bucketArn}/`;
    const prefixes = statements.flatMap((s) =>
      s.Resource.filter((r) => r.startsWith(objects) && r.endsWith('*')).map((r) =>
        r.slice(objects.length, -1),
      ),
    );
    const cfnBucket = this.bucket.node.defaultChild as s3.CfnBucket;
    const bucketArn = `<${Stack.of(this).resolve(cfnBucket.logicalId)}.Arn>`;
    const deletes = statements
      .filter((s) => s.Action.includes('s3:DeleteObject'))
      .flatMap((s) => s.Resource.filter((r) => r.startsWith(objects)))
      .map((r) => r.slice(objects.length));
    const acknowledged = [...new Set(prefixes)];
    // An exact key deleted (a lock) is declared on the deepest acknowledged prefix holding it.
    const deepest = (key: string) =>
      acknowledged.filter((p) => key.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    for (const prefix of acknowledged) {
      const keys = deletes.filter((k) => !k.endsWith('*') && deepest(k) === prefix);
      const deleted = deletes.includes(`${prefix}*`)
        ? ' s3:DeleteObject under it too: a writer removes its own uncommitted objects, and compaction the objects it replaced once keepUntil has passed.'
        : keys.length > 0
          ? ` s3:DeleteObject of ${keys.join(', ')} only: the compaction lock, released by its holder.`
          : '';
      Validations.of(principal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${bucketArn}/${prefix}*]`,
        reason: `Objects under the ${prefix} prefix of the offline bucket: a prefix grant is a wildcard on object keys; nothing outside the prefix is granted.${deleted}`,
      });
    }
  }

  /**
   * The commit records of `fstore ingest --env <aws>` (ADR 0008), one JSON object per line, read
   * with the OpenX JSON SerDe (keys matched case-insensitively: `ingestId` is `ingestid`). The
   * `source` partition is injected, so a query names one source (`WHERE source = '<name>'`) and
   * lists only `offline/_ingests/<source>/`; both record layouts below it are read, since Athena
   * reads every object under a partition's location, subfolders (`<sha256>/`) included. Names
   * starting with `_` are hidden only below the location, so `_ingests` itself is not. A
   * compaction's record (`<source>/compactions/<id>.json`) is a row too: its `replaces` names the
   * objects readers must skip from then on (lib/sql/athena-dialect.ts).
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
            { name: 'kind', type: 'string', comment: 'compaction, or absent (an ingest)' },
            {
              name: 'replaces',
              type: 'array<string>',
              comment: 'compaction: object keys its files replace, never read once it exists',
            },
            {
              name: 'keepuntil',
              type: 'string',
              comment: 'compaction: replaced objects are deleted after this time, ISO 8601',
            },
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
    const location = `s3://${this.bucket.bucketName}/${entityRequestPrefix(service)}`;
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
    const rendered = renderServiceRequest(registry, service, this.databaseName);
    this.statementParameters.set(service, rendered.parameters);
    const statement = new athena.CfnPreparedStatement(this, `Statement${pascal(service)}`, {
      statementName: servicePreparedStatement(service),
      workGroup: this.workgroup.ref,
      description: `Point-in-time training set of feature service ${service}: EXECUTE fstore_${service} USING the literals named by the stack output ${serviceOutputNames(service).parameters}`,
      queryStatement: rendered.sql,
    });
    statement.addResourceDependency(table);
    // Its source reads name the ingest records table too.
    statement.addResourceDependency(this.ingestRecords);
  }
}
