import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inParallel } from '../bounded-pool.ts';
import { syncFile, syncFolder } from '../offline/ingest-manifest.ts';
import { ingestIdOfObjectPath, ingestRecordsPrefix } from '../offline/ingest-records.ts';
import { isCompactionRecord } from '../offline/s3-compact-record.ts';
import { s3SnapshotsPrefix } from '../offline/s3-snapshots.ts';
import { deployedRegistryKey } from '../registry/deployed-registry-keys.ts';
import { lineageGraph } from '../registry/lineage.ts';
import { parseRegistryText } from '../registry/parse-registry.ts';
import type { Registry } from '../registry/registry-schema.ts';
import {
  ExportError,
  type ExportManifest,
  exportManifestName,
  isExportablePath,
  sha256OfFile,
} from './export-manifest.ts';
import { exportStagingFor, publishExport } from './export-staging.ts';
import { filesUnder } from './folder-files.ts';
import {
  downloadObject,
  listAllObjects,
  localFile,
  readObjectText,
  type S3Bucket,
} from './s3-transfer.ts';

/** Where an AWS export keeps the offline bucket's objects: `offline-bucket/<key>`. */
export const offlineBucketFolder = 'offline-bucket';
/** Where it keeps the audit key secret's value (the local key is `audit/audit-key`). */
export const awsAuditKeyFile = 'audit/aws-audit-key';
/**
 * The offline bucket's fstore metadata outside the sources, all copied: the snapshots
 * (`_fstore/snapshots/`) and the delete audit (`_fstore/audit/`).
 */
export const fstoreMetadataPrefix = `${s3SnapshotsPrefix.split('/')[0]}/`;
export const registryHistoryPrefix = 'registry/history/';
export const quarantinePrefix = 'quarantine/';
const transfers = 8;

export interface AwsExportOptions {
  readonly env: string;
  /** The environment's offline bucket (OfflineBucketName) and a client for it. */
  readonly offline: S3Bucket;
  /** The stack's artifacts bucket (ArtifactsBucketName), holding the deployed registry. */
  readonly artifacts: S3Bucket;
  /** The audit key secret's value, kept so the restored audit stays comparable. */
  readonly auditSecret?: string;
  readonly out: string;
  readonly includeData: boolean;
  readonly fstoreVersion: string;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface AwsExportResult {
  readonly out: string;
  readonly files: number;
  readonly bytes: number;
  readonly dataFiles: number;
  readonly includesData: boolean;
}

/**
 * Writes an AWS environment into `out` in the export format (origin `aws`): the deployed registry
 * and its history from the artifacts bucket, the lineage, every commit record (`offline/_ingests/`),
 * the snapshots and delete audit (`_fstore/`), the audit key, and with `includeData` the data
 * objects the commit records name (not the ones a compaction replaced, nor objects no record
 * names) and the quarantined rows, each streamed to disk. The files go to a sibling folder
 * renamed to `out` at the end, with `fstore-export.json` (sizes, sha256) written last: a stopped
 * or failed export leaves no `out`. It takes no lock: run it when no ingest runs, or an ingest
 * committed after the records were listed is simply not in it (its objects are not named).
 */
export async function exportAwsEnvironment(options: AwsExportOptions): Promise<AwsExportResult> {
  const { out } = options;
  const staging = await exportStagingFor(out);
  try {
    await mkdir(staging);
    const registry = await exportRegistry(options, staging);
    const records = await listAllObjects(
      options.offline.s3,
      options.offline.bucket,
      ingestRecordsPrefix,
    );
    const recordKeys = records.map((r) => r.key).filter(isRecordKey);
    const metadata = await listAllObjects(
      options.offline.s3,
      options.offline.bucket,
      fstoreMetadataPrefix,
    );
    // Records first: the data objects to copy are the ones they name.
    let done = 0;
    const step = (total: number) => options.onProgress?.(++done, total);
    const estimate = recordKeys.length + metadata.length;
    await inParallel(recordKeys, transfers, async (key) => {
      await copyObject(options, staging, key);
      step(estimate);
    });
    const keys = new Set(metadata.map((m) => m.key));
    if (options.includeData) {
      for (const key of await namedDataObjects(options, staging, recordKeys, registry))
        keys.add(key);
      for (const object of await listAllObjects(
        options.offline.s3,
        options.offline.bucket,
        quarantinePrefix,
      ))
        keys.add(object.key);
    }
    const total = recordKeys.length + keys.size;
    await inParallel([...keys], transfers, async (key) => {
      await copyObject(options, staging, key);
      step(total);
    });
    if (options.auditSecret !== undefined) {
      await mkdir(path.join(staging, 'audit'), { recursive: true });
      await writeFile(localFile(staging, awsAuditKeyFile), options.auditSecret, { mode: 0o600 });
    }
    const manifest = await manifestOf(staging, options);
    const manifestFile = path.join(staging, exportManifestName);
    await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    await syncFile(manifestFile);
    await syncFolder(staging);
    await publishExport(staging, out);
    return {
      out,
      files: manifest.files.length,
      bytes: manifest.files.reduce((sum, f) => sum + f.bytes, 0),
      dataFiles: manifest.files.filter((f) => f.path.endsWith('.parquet')).length,
      includesData: options.includeData,
    };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** `registry.json`, `registry-history/*`, `lineage.json`; the deployed registry, parsed. */
async function exportRegistry(options: AwsExportOptions, staging: string): Promise<Registry> {
  const { env } = options;
  const { s3, bucket: artifactsBucket } = options.artifacts;
  const text = await readObjectText(s3, artifactsBucket, deployedRegistryKey);
  const where = `s3://${artifactsBucket}/${deployedRegistryKey}`;
  if (text === undefined)
    throw new ExportError(
      `environment "${env}" has no deployed registry (${where} does not exist)`,
      'deploy the stack first (npx cdk deploy -c env=...); nothing was written',
    );
  const registry = parseRegistryText(text, where, 'redeploy the stack to record it again');
  await writeFile(path.join(staging, 'registry.json'), text);
  for (const { key } of await listAllObjects(s3, artifactsBucket, registryHistoryPrefix)) {
    const name = key.slice(registryHistoryPrefix.length);
    if (!/^[A-Za-z0-9._-]+\.json$/.test(name)) continue;
    await downloadObject(s3, artifactsBucket, key, path.join(staging, 'registry-history', name));
  }
  await writeFile(
    path.join(staging, 'lineage.json'),
    `${JSON.stringify(lineageGraph(registry), null, 2)}\n`,
  );
  return registry;
}

/** A commit record: below `offline/_ingests/`, no path part starting with `_` or `.` (locks). */
export function isRecordKey(key: string): boolean {
  return (
    key.endsWith('.json') &&
    !key
      .slice(ingestRecordsPrefix.length)
      .split('/')
      .some((part) => part.startsWith('_') || part.startsWith('.'))
  );
}

async function copyObject(options: AwsExportOptions, staging: string, key: string): Promise<void> {
  const relative = `${offlineBucketFolder}/${key}`;
  if (!isExportablePath(relative))
    throw new ExportError(
      `s3://${options.offline.bucket}/${key} has a key an export cannot hold as a file (an empty, . or .. part)`,
      'rename or remove that object, then export again; nothing was written',
    );
  // An object deleted since the listing (a retention run) is not exported: nothing names it now.
  await downloadObject(
    options.offline.s3,
    options.offline.bucket,
    key,
    localFile(staging, relative),
  );
}

/**
 * The data objects the exported records name: every ingest's `files` and every compaction's
 * merged objects, less the objects a compaction replaced; an ingest recorded before the commit
 * rule names none, so its source's objects carrying its ingest id are listed.
 */
async function namedDataObjects(
  options: AwsExportOptions,
  staging: string,
  recordKeys: readonly string[],
  registry: Registry,
): Promise<Set<string>> {
  const named = new Set<string>();
  const replaced = new Set<string>();
  const unnamed = new Map<string, Set<string>>();
  for (const key of recordKeys) {
    const file = localFile(staging, `${offlineBucketFolder}/${key}`);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      throw new ExportError(
        `the commit record s3://${options.offline.bucket}/${key} is not JSON`,
        'restore its previous version (the bucket is versioned), then export again',
      );
    }
    if (isCompactionRecord(record)) {
      for (const f of record.files) named.add(f);
      for (const f of record.replaces) replaced.add(f);
      continue;
    }
    const ingest = record as { ingestId?: unknown; files?: unknown };
    if (Array.isArray(ingest.files)) {
      for (const f of ingest.files) if (typeof f === 'string') named.add(f);
    } else if (typeof ingest.ingestId === 'string') {
      const source = key.slice(ingestRecordsPrefix.length).split('/')[0] ?? '';
      const ids = unnamed.get(source) ?? new Set<string>();
      unnamed.set(source, ids.add(ingest.ingestId));
    }
  }
  for (const [source, ids] of unnamed) {
    const prefix = registry.sources.find((s) => s.name === source)?.offline.s3Prefix;
    if (!prefix) continue;
    for (const { key } of await listAllObjects(options.offline.s3, options.offline.bucket, prefix))
      if (ids.has(ingestIdOfObjectPath(key) ?? '')) named.add(key);
  }
  for (const key of replaced) named.delete(key);
  return named;
}

async function manifestOf(staging: string, options: AwsExportOptions): Promise<ExportManifest> {
  const files: ExportManifest['files'] = [];
  for (const relative of await filesUnder(staging)) {
    const file = localFile(staging, relative);
    files.push({
      path: relative,
      bytes: (await stat(file)).size,
      sha256: await sha256OfFile(file),
    });
  }
  return {
    format: 'fstore-export',
    version: 1,
    fstoreVersion: options.fstoreVersion,
    env: options.env,
    origin: 'aws',
    exportedAt: new Date().toISOString(),
    includesData: options.includeData,
    files,
  };
}
