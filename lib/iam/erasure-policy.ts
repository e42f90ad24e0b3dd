import { awsErasureAuditPrefix } from '../erasure/audit-prefix.ts';
import { erasureJournalPrefix } from '../erasure/erasure-journal-prefix.ts';
import { stateKey } from '../materialize/materialization-state-key.ts';
import { compactionLockKey, compactionRecordsPrefix } from '../offline/s3-compact-record.ts';
import { s3SnapshotsPrefix } from '../offline/snapshot-format.ts';
import { pushErrorPrefix, pushStagingPrefix } from '../push/firehose-staging.ts';
import { type OfflineStoreResources, objectStatements, queryStatements } from './offline-policy.ts';
import type { PolicyStatement } from './policy-statement.ts';

/** Materialization's and the stream functions' quarantined rows in the offline bucket. */
export const erasureQuarantinePrefix = 'quarantine/';

export interface ErasureResources {
  readonly offline: OfflineStoreResources;
  readonly sources: readonly { readonly name: string; readonly s3Prefix: string }[];
  /** The environment's online table. */
  readonly tableArn: string;
  /** The environment's stack: the CLI reads its outputs (bucket, audit key secret). */
  readonly stackArn: string;
  /** The audit key secret (AuditKeySecretArn). */
  readonly auditSecretArn: string;
  /** `registry/deployed.json` in the artifacts bucket: the delete refuses other definitions. */
  readonly deployedRegistryArn: string;
}

/**
 * What `fstore delete --env <aws>` does (lib/erasure/erase-entities-aws.ts), and nothing else:
 * - Athena in the workgroup over the source tables, as any query (`queryStatements` without the
 *   training requests): finding the objects holding the keys by `"$path"`, with `GetObject` and
 *   listing under `offline/`, which also reads the commit records;
 * - per source: rewritten objects written under `offline/<source>/` and its one commit record
 *   under `offline/_ingests/<source>/compactions/` (never an ingest's record), its uploads
 *   deleted when stopped before the commit, and the compaction lock deleted by its exact key;
 * - the old objects deleted for good: `s3:ListBucketVersions` limited to the data and
 *   quarantine prefixes, `s3:DeleteObjectVersion` (and `s3:GetObjectVersion`, to read each
 *   quarantined version) under them only;
 * - quarantined rows written again under `quarantine/`, and pushed rows Firehose staged
 *   (`offline/_push/<source>/`, its `_refused/` copies included) or could not convert
 *   (`offline/_push-errors/<source>/`) read, written again at their key and their older
 *   versions deleted (read and written there, never deleted outright);
 * - its journal `_fstore/erasure/in-place/<source>.json` (object keys, no values) read, written
 *   and deleted by version, so a rerun deletes the older versions of objects it wrote again;
 * - the snapshots under `_fstore/snapshots/` listed and read (never written nor deleted), to
 *   name those that held the deleted rows;
 * - the audit entry written under `_fstore/audit/deletes/` (no read, no delete of it);
 * - the online table: `Scan` for the keys' items and `DeleteItem`; `GetItem`/`UpdateItem` of
 *   the views' materialization state items only (`~fstore#materialization#…`), to hold each
 *   view's materialization lease while its items are deleted;
 * - the stack's outputs (`DescribeStacks`) and the audit key (`GetSecretValue`);
 * - the registry the environment runs (`GetObject` of `registry/deployed.json`, that key only).
 */
export function erasureStatements(resources: ErasureResources): PolicyStatement[] {
  const { bucketArn } = resources.offline;
  const data = resources.sources.map((s) => s.s3Prefix);
  const pushed = resources.sources.flatMap((s) => [
    pushStagingPrefix(s.name),
    pushErrorPrefix(s.name),
  ]);
  const versioned = [...data, erasureQuarantinePrefix, ...pushed, erasureJournalPrefix];
  return [
    ...queryStatements(resources.offline, { readRequests: false }),
    ...objectStatements(bucketArn, {
      // offline/ is read already (queryStatements); the journal and snapshots are outside it.
      read: [erasureJournalPrefix, s3SnapshotsPrefix],
      write: [
        ...data,
        ...resources.sources.map((s) => compactionRecordsPrefix(s.name)),
        erasureQuarantinePrefix,
        ...pushed,
        erasureJournalPrefix,
        awsErasureAuditPrefix,
      ],
      delete: data,
      deleteKeys: resources.sources.map((s) => compactionLockKey(s.name)),
    }),
    {
      Effect: 'Allow',
      Action: ['s3:ListBucketVersions'],
      Resource: [bucketArn],
      Condition: { StringLike: { 's3:prefix': versioned.map((p) => `${p}*`) } },
    },
    {
      Effect: 'Allow',
      Action: ['s3:GetObjectVersion', 's3:DeleteObjectVersion'],
      Resource: versioned.map((p) => `${bucketArn}/${p}*`),
    },
    {
      Effect: 'Allow',
      Action: ['dynamodb:Scan', 'dynamodb:DeleteItem'],
      Resource: [resources.tableArn],
    },
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: [resources.tableArn],
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [stateKey('*')] } },
    },
    { Effect: 'Allow', Action: ['cloudformation:DescribeStacks'], Resource: [resources.stackArn] },
    {
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [resources.auditSecretArn],
    },
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [resources.deployedRegistryArn] },
  ];
}
