import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { pushErrorPrefix, pushRefusedPrefix, pushStagingPrefix } from '../push/firehose-staging.ts';

/** What Firehose staged for one source and compaction has not taken yet (ADR 0016). */
export interface StagedPushSummary {
  readonly source: string;
  /** Staged Parquet objects under `offline/_push/<source>/arrived=…/`. */
  readonly objects: number;
  readonly bytes: number;
  /** S3 LastModified of the oldest of them (S3's clock, not this host's). */
  readonly oldest?: Date;
  /** Objects Firehose could not convert or deliver, under `offline/_push-errors/<source>/`. */
  readonly errorObjects: number;
  /** Staged objects the ingest refused, set aside under `offline/_push/<source>/_refused/`. */
  readonly refusedObjects: number;
}

/**
 * Lists each source's staged objects and its delivery errors: only the listings, no object is
 * read. The same test as compaction's (`arrived=` objects ending in `.parquet`), so the counts
 * are what the next compaction would take.
 */
export async function summarizePushStaging(
  s3: S3Client,
  bucket: string,
  sources: readonly string[],
): Promise<StagedPushSummary[]> {
  const out: StagedPushSummary[] = [];
  for (const source of sources) {
    let objects = 0;
    let bytes = 0;
    let oldest: Date | undefined;
    for (const o of await listAll(s3, bucket, `${pushStagingPrefix(source)}arrived=`)) {
      if (!o.Key?.endsWith('.parquet')) continue;
      objects++;
      bytes += o.Size ?? 0;
      if (o.LastModified && (!oldest || o.LastModified < oldest)) oldest = o.LastModified;
    }
    const errorObjects = (await listAll(s3, bucket, pushErrorPrefix(source))).length;
    const refusedObjects = (await listAll(s3, bucket, pushRefusedPrefix(source))).filter((o) =>
      o.Key?.endsWith('.parquet'),
    ).length;
    out.push({
      source,
      objects,
      bytes,
      ...(oldest ? { oldest } : {}),
      errorObjects,
      refusedObjects,
    });
  }
  return out;
}

async function listAll(s3: S3Client, bucket: string, prefix: string) {
  const out: { Key?: string; Size?: number; LastModified?: Date }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    out.push(...(page.Contents ?? []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}
