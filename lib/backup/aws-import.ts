import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { inParallel } from '../bounded-pool.ts';
import { ingestRecordsPrefix } from '../offline/ingest-records.ts';
import { isCompactionRecord } from '../offline/s3-compact-record.ts';
import { deployedRegistryKey } from '../registry/deployed-registry-keys.ts';
import { parseRegistryText } from '../registry/parse-registry.ts';
import type { Registry } from '../registry/registry-schema.ts';
import {
  awsAuditKeyFile,
  fstoreMetadataPrefix,
  isRecordKey,
  offlineBucketFolder,
  quarantinePrefix,
  registryHistoryPrefix,
} from './aws-export.ts';
import { ExportError, type ExportManifest, verifiedExport } from './export-manifest.ts';
import {
  type ListedObject,
  listAllObjects,
  localFile,
  readObjectText,
  type S3Bucket,
  uploadFile,
} from './s3-transfer.ts';

const transfers = 8;

export interface AwsImportOptions {
  /** The target environment (named in messages). */
  readonly env: string;
  /** The target's offline bucket (OfflineBucketName) and a client for it. */
  readonly offline: S3Bucket;
  /** The target stack's artifacts bucket (ArtifactsBucketName). */
  readonly artifacts: S3Bucket;
  /** The export folder. */
  readonly from: string;
  /** The target's audit key secret: its value now, and how to replace it with the export's. */
  readonly auditSecret?: {
    readonly current: () => Promise<string>;
    readonly replace: (value: string) => Promise<void>;
  };
  readonly onProgress?: (done: number, total: number) => void;
}

export interface AwsImportResult {
  readonly env: string;
  readonly exportedFrom: string;
  readonly exportedAt: string;
  readonly includesData: boolean;
  /** Objects written to the target's buckets (commit records included). */
  readonly uploaded: number;
  /** Objects already there with the same bytes (a rerun after a failure). */
  readonly alreadyThere: number;
  readonly commitRecords: number;
  /**
   * Objects the commit records name that the export does not hold: deleted before the export
   * (AWS retention deletes whole partitions and keeps the records). No reader sees them.
   */
  readonly namedButAbsent: number;
  readonly auditKey: 'replaced' | 'unchanged' | 'not in export' | 'not restored';
  readonly notRestored: readonly {
    readonly name: string;
    readonly files: number;
    readonly why: string;
  }[];
}

interface Upload {
  readonly relative: string;
  /** The target's offline bucket, or its artifacts bucket (registry history). */
  readonly to: 'offline' | 'artifacts';
  readonly key: string;
}

/**
 * Restores an AWS export (origin `aws`) into another AWS environment, deployed with the same
 * registry. Checks first, changing nothing: the whole export (sizes, sha256, paths), the
 * commit records parsing, the target's deployed registry version equal to
 * the export's, and no commit record, snapshot or audit entry in the target that the export
 * does not hold with the same bytes (so a rerun after a failure resumes, and a used
 * environment is refused). Then it writes the registry history, the audit key, every data,
 * quarantine, snapshot and audit object, and the commit records last: they are the commit
 * point, so a failure before them leaves objects no reader reads. Objects already there with the
 * same size and MD5 (the ETag of a single-part upload) are skipped.
 */
export async function importAwsEnvironment(options: AwsImportOptions): Promise<AwsImportResult> {
  const { env, from, offline, artifacts } = options;
  const manifest = await verifiedExport(from);
  if (manifest.origin !== 'aws')
    throw new ExportError(
      `${from} is an export of the local environment "${manifest.env}"; an AWS environment restores AWS exports only`,
      'import it into a local environment (fstore import <dir> --env local-<name>), then ingest into AWS from there; nothing was changed',
    );
  const registry = await checkSameRegistry(options, manifest);
  const plan = planUploads(manifest);
  checkKeysWhereFstoreWrites(plan, registry, from);
  const namedButAbsent = manifest.includesData
    ? await namedObjectsNotExported(from, manifest, plan.records)
    : 0;
  const present = await targetObjects(offline, plan);
  await checkTargetUnused(options, plan, present);

  let done = 0;
  const total = plan.objects.length + plan.records.length;
  let uploaded = 0;
  let alreadyThere = 0;
  const put = async (upload: Upload, listed: ReadonlyMap<string, ListedObject>) => {
    const file = localFile(from, upload.relative);
    const target = upload.to === 'offline' ? offline : artifacts;
    // A history object already there is the target's own record of that version: kept.
    const there = listed.get(upload.key);
    if (upload.to === 'artifacts' ? there !== undefined : await sameObject(file, there))
      alreadyThere++;
    else {
      await uploadFile(target.s3, target.bucket, upload.key, file);
      uploaded++;
    }
    options.onProgress?.(++done, total);
  };
  const auditKey = await restoreAuditKey(options, manifest);
  const history = new Map(
    (await listAllObjects(artifacts.s3, artifacts.bucket, registryHistoryPrefix)).map((o) => [
      o.key,
      o,
    ]),
  );
  await inParallel(
    plan.objects.filter((u) => u.to === 'artifacts'),
    transfers,
    (u) => put(u, history),
  );
  await inParallel(
    plan.objects.filter((u) => u.to === 'offline'),
    transfers,
    (u) => put(u, present),
  );
  // The commit point: only now do readers see the imported data.
  await inParallel(plan.records, transfers, (u) => put(u, present));
  return {
    env,
    exportedFrom: manifest.env,
    exportedAt: manifest.exportedAt,
    includesData: manifest.includesData,
    uploaded,
    alreadyThere,
    commitRecords: plan.records.length,
    namedButAbsent,
    auditKey,
    notRestored: plan.notRestored,
  };
}

async function checkSameRegistry(
  options: AwsImportOptions,
  manifest: ExportManifest,
): Promise<Registry> {
  const exported = manifest.files.find((f) => f.path === 'registry.json');
  if (!exported)
    throw new ExportError(
      `${options.from} holds no registry.json`,
      'export again with fstore export --env <aws env>',
    );
  const file = localFile(options.from, 'registry.json');
  const version = parseRegistryText(await readFile(file, 'utf8'), file).version;
  const where = `s3://${options.artifacts.bucket}/${deployedRegistryKey}`;
  const text = await readObjectText(
    options.artifacts.s3,
    options.artifacts.bucket,
    deployedRegistryKey,
  );
  const hint = `deploy the feature-defs of the export first (registry ${version}): npx cdk deploy -c env=${options.env}; nothing was changed`;
  if (text === undefined)
    throw new ExportError(`environment "${options.env}" has no deployed registry (${where})`, hint);
  const deployed = parseRegistryText(text, where).version;
  if (deployed !== version)
    throw new ExportError(
      `environment "${options.env}" runs registry ${deployed}, the export was taken at ${version}: its data follows that registry's sources and views`,
      hint,
    );
  return parseRegistryText(text, where);
}

/**
 * Every object to write into the offline bucket is where fstore writes: the commit records,
 * `_fstore/`, `quarantine/` or a source's prefix of the registry. An export edited to hold
 * `athena-results/...` or another table's location is refused before anything is written.
 */
function checkKeysWhereFstoreWrites(
  plan: { objects: readonly Upload[]; records: readonly Upload[] },
  registry: Registry,
  from: string,
): void {
  const prefixes = [
    ingestRecordsPrefix,
    fstoreMetadataPrefix,
    quarantinePrefix,
    ...registry.sources.map((source) => source.offline.s3Prefix),
  ];
  const stray = [...plan.objects, ...plan.records].find(
    (u) => u.to === 'offline' && !prefixes.some((p) => u.key.startsWith(p)),
  );
  if (stray)
    throw new ExportError(
      `the export in ${from} holds ${stray.relative}, outside every prefix fstore writes in the offline bucket (${prefixes.join(', ')})`,
      'export again with fstore export --env <aws env>; nothing was changed',
    );
}

function planUploads(manifest: ExportManifest) {
  const objects: Upload[] = [];
  const records: Upload[] = [];
  const skipped = new Map<string, { files: number; why: string }>();
  const skip = (name: string, why: string) =>
    skipped.set(name, { files: (skipped.get(name)?.files ?? 0) + 1, why });
  const bucketPrefix = `${offlineBucketFolder}/`;
  for (const { path: relative } of manifest.files) {
    if (relative.startsWith('registry-history/'))
      objects.push({
        relative,
        to: 'artifacts',
        key: `${registryHistoryPrefix}${relative.slice('registry-history/'.length)}`,
      });
    else if (relative.startsWith(bucketPrefix)) {
      const key = relative.slice(bucketPrefix.length);
      const isAudit = key.startsWith(`${fstoreMetadataPrefix}audit/`);
      if (!manifest.includesData && !isAudit)
        skip(
          key.split('/')[0] ?? key,
          'the export holds no data files (export with --include-data)',
        );
      else if (key.startsWith(ingestRecordsPrefix) && isRecordKey(key))
        records.push({ relative, to: 'offline', key });
      else objects.push({ relative, to: 'offline', key });
    }
    // registry.json and lineage.json: the deploy of the same feature-defs wrote them.
  }
  records.sort((a, b) => a.key.localeCompare(b.key));
  return {
    objects,
    records,
    notRestored: [...skipped].map(([name, s]) => ({ name, ...s })),
  };
}

/**
 * How many objects the exported commit records name (not replaced by a compaction) that the
 * export does not hold. Retention on AWS deletes whole partitions and leaves the records, so a
 * record may name objects gone before the export: readers never see them (Athena lists the
 * objects that exist), so they are counted, not refused. A record that is not JSON is refused.
 */
async function namedObjectsNotExported(
  from: string,
  manifest: ExportManifest,
  records: readonly Upload[],
): Promise<number> {
  const held = new Set(manifest.files.map((f) => f.path));
  const named: { key: string; record: string }[] = [];
  const replaced = new Set<string>();
  for (const { relative, key } of records) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(localFile(from, relative), 'utf8'));
    } catch {
      throw new ExportError(`the commit record ${relative} of ${from} is not JSON`, 'export again');
    }
    if (isCompactionRecord(parsed)) {
      for (const f of parsed.files) named.push({ key: f, record: key });
      for (const f of parsed.replaces) replaced.add(f);
    } else {
      const files = (parsed as { files?: unknown }).files;
      if (Array.isArray(files))
        for (const f of files) if (typeof f === 'string') named.push({ key: f, record: key });
    }
  }
  const absent = new Set(
    named
      .filter(({ key }) => !replaced.has(key) && !held.has(`${offlineBucketFolder}/${key}`))
      .map(({ key }) => key),
  );
  return absent.size;
}

/** The target's objects under the prefixes the import writes, by key. */
async function targetObjects(
  offline: S3Bucket,
  plan: { objects: readonly Upload[]; records: readonly Upload[] },
): Promise<Map<string, ListedObject>> {
  const prefixes = new Set([ingestRecordsPrefix, fstoreMetadataPrefix]);
  for (const { key, to } of [...plan.objects, ...plan.records])
    if (to === 'offline') prefixes.add(`${key.split('/')[0]}/`);
  const found = new Map<string, ListedObject>();
  // Nested prefixes (offline/ and offline/_ingests/) list the same objects twice: a map.
  for (const prefix of [...prefixes].sort())
    for (const object of await listAllObjects(offline.s3, offline.bucket, prefix))
      found.set(object.key, object);
  return found;
}

/**
 * Refuses a target holding a commit record, snapshot or audit entry that this export does not
 * hold with the same bytes: that environment is in use (or holds another export).
 */
async function checkTargetUnused(
  options: AwsImportOptions,
  plan: { objects: readonly Upload[]; records: readonly Upload[] },
  present: ReadonlyMap<string, ListedObject>,
): Promise<void> {
  const ours = new Map([...plan.objects, ...plan.records].map((u) => [u.key, u]));
  for (const object of present.values()) {
    const guarded =
      (object.key.startsWith(ingestRecordsPrefix) && isRecordKey(object.key)) ||
      object.key.startsWith(fstoreMetadataPrefix);
    if (!guarded) continue;
    const upload = ours.get(object.key);
    if (!upload || !(await sameObject(localFile(options.from, upload.relative), object)))
      throw new ExportError(
        `environment "${options.env}" is not empty: s3://${options.offline.bucket}/${object.key} is there${upload ? ' with other bytes than the export’s' : ' and not in the export'}`,
        'import into a new environment (deploy one with npx cdk deploy -c env=<new>); nothing was changed',
      );
  }
}

/** Whether `listed` holds `file`'s bytes: same size and MD5 (a single-part upload's ETag). */
async function sameObject(file: string, listed: ListedObject | undefined): Promise<boolean> {
  if (!listed) return false;
  const hash = createHash('md5');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return bytes === listed.bytes && hash.digest('hex') === listed.etag;
}

async function restoreAuditKey(
  options: AwsImportOptions,
  manifest: ExportManifest,
): Promise<AwsImportResult['auditKey']> {
  if (!manifest.files.some((f) => f.path === awsAuditKeyFile)) return 'not in export';
  if (!options.auditSecret) return 'not restored';
  const value = await readFile(localFile(options.from, awsAuditKeyFile), 'utf8');
  if ((await options.auditSecret.current()) === value) return 'unchanged';
  await options.auditSecret.replace(value);
  return 'replaced';
}
