import { readManifest } from '../offline/ingest-manifest.ts';
import { type CommittedIngest, type IngestLog, partitionsOfFiles } from './ingest-coverage.ts';

/**
 * The local offline store's commit points: the lines of `_ingests.jsonl` (ADR 0008). An ingest
 * takes its first sequence number from the committed manifest and commits while holding the
 * store's write lock, so numbers follow commit order and coverage goes by them (a clock stepped
 * back, or a slow commit, cannot make a commit look settled).
 */
export function manifestIngestLog(offlineRoot: string): IngestLog {
  return {
    seqInCommitOrder: true,
    async committedIngests(source) {
      const records = await readManifest(offlineRoot);
      if (!records) return undefined;
      return records
        .filter((r) => r.source === source)
        .map((r): CommittedIngest => {
          const days = partitionsOfFiles(r.files);
          return {
            ingestId: r.ingestId,
            firstSeq: r.firstSeq,
            rows: r.rows,
            committedAtMs: committedAt(r.at, r.ingestId),
            ...(days ? { days } : {}),
          };
        });
    },
  };
}

function committedAt(at: string, ingestId: string): number {
  const ms = Date.parse(at);
  if (Number.isNaN(ms))
    throw new Error(`ingest ${ingestId} in _ingests.jsonl has no valid commit time: ${at}`);
  return ms;
}
