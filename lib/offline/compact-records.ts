import path from 'node:path';
import { committedFilesOf, type IngestRecord } from './ingest-manifest.ts';

/** One merge done: the committed files it read and the files that now hold their rows. */
export interface Merge {
  readonly source: string;
  /** Absolute paths of the files merged. */
  readonly replaced: readonly string[];
  /** Absolute paths of the merged files (same partition). */
  readonly merged: readonly string[];
}

/**
 * The manifest records once `merges` are committed. Every record keeps its id, content hash,
 * `fstore_seq` range, row count and commit time (so duplicate detection, sequence numbers and
 * the materializer's ingest coverage see the same ingests); only `files` changes: a replaced
 * file gives way to the merged files of its partition. A merged file holds rows of several
 * ingests, so several records name it; readers read each file once. A record written before
 * the commit rule (no `files`) gets its files listed, since the merged ones do not carry its id.
 */
export function recordsAfterMerges(
  offlineRoot: string,
  records: readonly IngestRecord[],
  merges: readonly Merge[],
): IngestRecord[] {
  const relative = (file: string) => path.relative(offlineRoot, file).split(path.sep).join('/');
  const replacement = new Map<string, readonly string[]>();
  for (const merge of merges)
    for (const file of merge.replaced)
      replacement.set(`${merge.source}\n${relative(file)}`, merge.merged.map(relative));
  return records.map((record) => {
    const files =
      record.files ??
      committedFilesOf(offlineRoot, record.source, [record]).map((file) => relative(file));
    if (!files.some((file) => replacement.has(`${record.source}\n${file}`))) return record;
    const next = new Set<string>();
    for (const file of files)
      for (const kept of replacement.get(`${record.source}\n${file}`) ?? [file]) next.add(kept);
    return { ...record, files: [...next] };
  });
}
