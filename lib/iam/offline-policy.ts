import { ingestRecordsPrefix } from '../offline/ingest-records.ts';
import { compactionLockKey, compactionRecordsPrefix } from '../offline/s3-compact-record.ts';
import { s3SnapshotsPrefix } from '../offline/snapshot-format.ts';
import { pushErrorPrefix, pushStagingPrefix } from '../push/firehose-staging.ts';
import type { ArnScope, PolicyStatement } from './policy-statement.ts';

/**
 * The names and ARNs of one environment's offline store that its grants name. The same values
 * come from the CDK construct (tokens) or from the deployed stack's outputs, so the policy a
 * construct grants and the one `fstore iam-policy` prints are built by the same functions below.
 */
export interface OfflineStoreResources {
  readonly scope: ArnScope;
  /** ARN of the offline bucket (the construct passes its bucket's ARN attribute). */
  readonly bucketArn: string;
  readonly databaseName: string;
  readonly workGroupName: string;
  /** Glue tables of the sources and the ingest records (`fstore_ingests`). */
  readonly dataTables: readonly string[];
  /** Entity-request tables, one per feature service. */
  readonly requestTables: readonly string[];
}

export function bucketArnOf(scope: ArnScope, bucketName: string): string {
  return `arn:${scope.partition}:s3:::${bucketName}`;
}

export function workGroupArn(resources: OfflineStoreResources): string {
  const { partition, region, account } = resources.scope;
  return `arn:${partition}:athena:${region}:${account}:workgroup/${resources.workGroupName}`;
}

function glueArn(scope: ArnScope, resource: string): string {
  return `arn:${scope.partition}:glue:${scope.region}:${scope.account}:${resource}`;
}

/** Object access under key prefixes, each ending in `/`. */
export interface ObjectAccess {
  /** `GetObject` on the objects, `ListBucket` with an `s3:prefix` condition on the prefixes. */
  readonly read?: readonly string[];
  /** `ListBucket` with an `s3:prefix` condition on the prefixes, no `GetObject`. */
  readonly list?: readonly string[];
  readonly write?: readonly string[];
  /**
   * `DeleteObject`: only what a writer cleans up after itself (an ingest or compaction stopped
   * before its commit) and objects a compaction replaced, once its `keepUntil` has passed.
   */
  readonly delete?: readonly string[];
  /** `DeleteObject` of these exact keys only (a lock object, not the folder it sits in). */
  readonly deleteKeys?: readonly string[];
  /** Written by Athena as the caller (query results, UNLOAD): `PutObject` and the multipart calls. */
  readonly writtenByAthena?: readonly string[];
}

export function objectStatements(bucketArn: string, access: ObjectAccess): PolicyStatement[] {
  const { read = [], write = [], delete: remove = [], writtenByAthena = [] } = access;
  const { deleteKeys = [], list = [] } = access;
  for (const prefix of [...read, ...list, ...write, ...remove, ...writtenByAthena])
    if (!/^([a-z_][a-z0-9_-]*\/)+$/.test(prefix))
      throw new Error(
        `object prefix "${prefix}" must be folders ending in "/", like "quarantine/" or "offline/orders/"`,
      );
  for (const key of deleteKeys)
    if (!/^([a-z_][a-z0-9_-]*\/)+[a-z_][a-z0-9_.-]*$/.test(key))
      throw new Error(
        `object key "${key}" must be one object's key (no wildcard), like "a/_lock.json"`,
      );
  const objects = (prefixes: readonly string[]) => prefixes.map((p) => `${bucketArn}/${p}*`);
  const statements: PolicyStatement[] = [];
  if (read.length > 0)
    statements.push({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: objects(read) });
  const listed = [...new Set([...read, ...list])];
  if (listed.length > 0)
    statements.push({
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucketArn],
      Condition: { StringLike: { 's3:prefix': listed.map((p) => `${p}*`) } },
    });
  if (write.length > 0)
    statements.push({ Effect: 'Allow', Action: ['s3:PutObject'], Resource: objects(write) });
  if (remove.length + deleteKeys.length > 0)
    statements.push({
      Effect: 'Allow',
      Action: ['s3:DeleteObject'],
      Resource: [...objects(remove), ...deleteKeys.map((key) => `${bucketArn}/${key}`)],
    });
  if (writtenByAthena.length > 0)
    statements.push({
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      Resource: objects(writtenByAthena),
    });
  return statements;
}

/**
 * Running Athena queries in the workgroup against the store's tables: Athena on the workgroup;
 * Glue reads on the catalog, the database and each table (no wildcard), `fstore_ingests`
 * included since every source relation reads it; `GetObject` under `offline/`; Athena's result
 * writes and reads under `athena-results/` (no deletes). With `readRequests`, also the
 * entity-request tables, `requests/` and the prepared statements (EXECUTE reads them).
 */
export function queryStatements(
  resources: OfflineStoreResources,
  options: { readonly readRequests: boolean },
): PolicyStatement[] {
  const { scope, databaseName, bucketArn } = resources;
  const tables = [
    ...resources.dataTables,
    ...(options.readRequests ? resources.requestTables : []),
  ];
  return [
    {
      Effect: 'Allow',
      Action: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
        ...(options.readRequests ? ['athena:GetPreparedStatement'] : []),
      ],
      Resource: [workGroupArn(resources)],
    },
    {
      Effect: 'Allow',
      Action: [
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:GetTables',
        'glue:GetPartition',
        'glue:GetPartitions',
      ],
      Resource: [
        glueArn(scope, 'catalog'),
        glueArn(scope, `database/${databaseName}`),
        ...tables.map((table) => glueArn(scope, `table/${databaseName}/${table}`)),
      ],
    },
    ...objectStatements(bucketArn, {
      read: ['offline/', ...(options.readRequests ? ['requests/'] : []), 'athena-results/'],
      writtenByAthena: ['athena-results/'],
    }),
    // Athena's documented needs on a query result location; neither takes an s3:prefix.
    {
      Effect: 'Allow',
      Action: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
      Resource: [bucketArn],
    },
  ];
}

/**
 * A training job's needs: `queryStatements` with requests, `athena:GetWorkGroup` (awswrangler
 * and PyAthena read the workgroup's settings before a query), writing entity rows under
 * `requests/` and the UNLOADed training sets under `training-sets/` (read back and listed for
 * the download), and the snapshots a build reads as of (`--snapshot`: `_fstore/snapshots/`,
 * read only; creating one is an operator's). The commit records an Athena build pins by are
 * under `offline/`, which queries read already. No deletes.
 */
export function trainingStatements(resources: OfflineStoreResources): PolicyStatement[] {
  return [
    ...queryStatements(resources, { readRequests: true }),
    { Effect: 'Allow', Action: ['athena:GetWorkGroup'], Resource: [workGroupArn(resources)] },
    ...objectStatements(resources.bucketArn, {
      read: ['training-sets/', s3SnapshotsPrefix],
      write: ['requests/'],
      writtenByAthena: ['training-sets/'],
    }),
  ];
}

/**
 * The key of one ingest's commit record below `offline/_ingests/<source>/` as an IAM resource
 * pattern: `ingestRecordKey`'s `<sha256>/<ingestId>.json`, one `?` per character of the 64-hex
 * hash and of the `YYYYMMDDtHHMMSS-<8 hex>` id. The compaction lock
 * (`compactions/_lock.json`) and compaction records (`compactions/<id>.json`) are shorter and
 * have no `/` at the 65th character, so they never match.
 */
const ingestRecordKeyPattern = `${'?'.repeat(64)}/${'?'.repeat(8)}t${'?'.repeat(6)}-${'?'.repeat(8)}.json`;

/**
 * What `fstore ingest --env <aws>` does for `sources`: data objects under `offline/<source>/`
 * (written, and deleted when an ingest stops before its commit), the commit records under
 * `offline/_ingests/<source>/` read (looked up by content hash) and written only in the
 * ingest layout (`ingestRecordKeyPattern`), and the source's compaction lock
 * (`compactions/_lock.json`, written and deleted by its exact key; read with the records): the
 * commit waits for it, so a retention or an entity delete never runs across an ingest's commit
 * (issue 19). Not the compaction records below `compactions/`, which are `compact`'s. Narrowed
 * by resource rather than an explicit Deny, so a principal that also holds the compact
 * statements can still compact.
 */
export function ingestStatements(
  bucketArn: string,
  sources: readonly { readonly s3Prefix: string; readonly name: string }[],
): PolicyStatement[] {
  const data = sources.map((s) => s.s3Prefix);
  const records = sources.map((s) => `${ingestRecordsPrefix}${s.name}/`);
  const writes: PolicyStatement = {
    Effect: 'Allow',
    Action: ['s3:PutObject'],
    Resource: [
      ...data.map((prefix) => `${bucketArn}/${prefix}*`),
      ...records.map((prefix) => `${bucketArn}/${prefix}${ingestRecordKeyPattern}`),
      ...sources.map((s) => `${bucketArn}/${compactionLockKey(s.name)}`),
    ],
  };
  return [
    ...objectStatements(bucketArn, {
      read: records,
      delete: data,
      deleteKeys: sources.map((s) => compactionLockKey(s.name)),
    }),
    writes,
  ];
}

/**
 * What `fstore compact --env <aws>` does for `sources`: reads the data objects and every record
 * of each source (to plan), writes merged objects under `offline/<source>/` and its commit
 * record under `offline/_ingests/<source>/compactions/` only (it never writes an ingest's
 * record), and deletes under `offline/<source>/` (its own uploads when stopped before the commit,
 * and replaced objects after `keepUntil`). Its lock, `compactions/_lock.json`, is written under
 * the same grant and deleted by its exact key (a conditional delete also needs the GetObject
 * the records' read gives). No delete of any record. Pushed rows Firehose staged under
 * `offline/_push/<source>/` (ADR 0016) are read, ingested with an ingest record (written in
 * the ingest layout only, as `ingestStatements`) and then deleted, with compaction's manifests
 * and ledger written and deleted below the same prefix. `offline/_push-errors/<source>/`, where
 * Firehose puts what it could not deliver, is listed (counted), never read.
 */
export function compactStatements(
  bucketArn: string,
  sources: readonly { readonly s3Prefix: string; readonly name: string }[],
): PolicyStatement[] {
  const data = sources.map((s) => s.s3Prefix);
  const records = sources.map((s) => `${ingestRecordsPrefix}${s.name}/`);
  const compactions = sources.map((s) => compactionRecordsPrefix(s.name));
  const pushed = sources.map((s) => pushStagingPrefix(s.name));
  const pushRecords: PolicyStatement = {
    Effect: 'Allow',
    Action: ['s3:PutObject'],
    Resource: records.map((prefix) => `${bucketArn}/${prefix}${ingestRecordKeyPattern}`),
  };
  return [
    ...objectStatements(bucketArn, {
      read: [...data, ...records, ...pushed],
      write: [...data, ...compactions, ...pushed],
      delete: [...data, ...pushed],
      deleteKeys: sources.map((s) => compactionLockKey(s.name)),
    }),
    pushRecords,
    {
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucketArn],
      // Exactly the prefixes the run lists to count delivery errors (no wildcard): nothing deeper.
      Condition: { StringEquals: { 's3:prefix': sources.map((s) => pushErrorPrefix(s.name)) } },
    },
  ];
}
