import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { z } from 'zod';
import { HintedError } from '../hinted-error.ts';
import { deleteEveryVersion } from '../offline/s3-object-versions.ts';
import { erasureJournalPrefix } from './erasure-journal-prefix.ts';

/** Named explicitly: bundles are minified, which renames classes. */
export class InPlaceJournalError extends HintedError {
  override name = 'InPlaceJournalError';
}

/** One per source: the delete holds the source's compaction lock while it exists. */
export function inPlaceJournalKey(source: string): string {
  return `${erasureJournalPrefix}in-place/${source}.json`;
}

const journalSchema = z.object({
  kind: z.literal('entity-delete-in-place'),
  source: z.string(),
  at: z.string(),
  objects: z.array(z.string().min(1)),
});

interface JournalTarget {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly source: string;
  readonly backoffMs?: number;
}

/**
 * Written before objects no record names are written again at their key without the rows
 * (rewriteS3Objects' `rewriteInPlace`): their earlier versions still hold the rows until deleted,
 * and once the current version no longer holds the key Athena cannot lead a rerun back to
 * them. The journal does: `settleInPlaceJournal` deletes every version but the current of each
 * object it names. It names object keys only.
 */
export async function writeInPlaceJournal(
  target: JournalTarget,
  objects: readonly string[],
  at: Date,
): Promise<void> {
  const journal: z.infer<typeof journalSchema> = {
    kind: 'entity-delete-in-place',
    source: target.source,
    at: at.toISOString(),
    objects: [...objects],
  };
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: inPlaceJournalKey(target.source),
      Body: `${JSON.stringify(journal)}\n`,
      ContentType: 'application/json',
    }),
  );
}

/**
 * Finishes what a delete killed after writing objects at their key left, under the source's
 * compaction lock the caller holds: every noncurrent version of each object the journal names is
 * deleted (the current one, written without the rows or not written yet, stays for Athena to
 * find again), then every version of the journal. Returns the versions of data objects deleted
 * (0 without a journal). Looked up by listing its exact key: a GetObject of a missing key answers
 * 403 rather than 404 unless the caller may list the bucket unconditioned.
 */
export async function settleInPlaceJournal(target: JournalTarget): Promise<number> {
  const key = inPlaceJournalKey(target.source);
  const listed = await target.s3.send(
    new ListObjectsV2Command({ Bucket: target.bucket, Prefix: key, MaxKeys: 10 }),
  );
  if (!(listed.Contents ?? []).some((o) => o.Key === key)) return 0;
  const answer = await target.s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }));
  const text = (await answer.Body?.transformToString('utf8')) ?? '';
  let journal: z.infer<typeof journalSchema>;
  try {
    journal = journalSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new InPlaceJournalError(
      `s3://${target.bucket}/${key}, the journal of an entity delete of source "${target.source}" that was cut short, is not readable (${(error as Error).message.split('\n')[0]}); nothing of this source was changed`,
      'it names objects whose older versions may still hold erased rows: delete every noncurrent version of each object it lists, then every version of the journal, and run the same command again',
      { cause: error },
    );
  }
  const versionsOptions = {
    s3: target.s3,
    bucket: target.bucket,
    ...(target.backoffMs !== undefined ? { backoffMs: target.backoffMs } : {}),
  };
  const older = await deleteEveryVersion({
    ...versionsOptions,
    keys: journal.objects,
    keepCurrent: true,
  });
  await clearInPlaceJournal(target);
  return older.versions;
}

/** Deletes every version of the source's journal (its objects' older versions are gone). */
export async function clearInPlaceJournal(target: JournalTarget): Promise<void> {
  await deleteEveryVersion({
    s3: target.s3,
    bucket: target.bucket,
    keys: [inPlaceJournalKey(target.source)],
    ...(target.backoffMs !== undefined ? { backoffMs: target.backoffMs } : {}),
  });
}
