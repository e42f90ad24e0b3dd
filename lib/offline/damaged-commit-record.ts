import { HintedError } from '../hinted-error.ts';

/** What to do about a damaged commit record: fstore writes each record once and never edits it. */
export const damagedRecordHint =
  'restore the record as its ingest wrote it (on S3 its previous version: the bucket is versioned; locally a backup of the manifest); no tile base of its source is written until then';

/**
 * A commit record that does not read back as an ingest wrote it (not JSON, or a field of the
 * wrong shape). Reading it again cannot mend it, so the sharded state machine does not retry
 * it (sharded-materialization.ts, permanentShardErrors). Named explicitly, as every error that
 * list names: a renamed class would silently leave it.
 */
export class DamagedCommitRecordError extends HintedError {
  override name = 'DamagedCommitRecordError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, damagedRecordHint, options);
  }
}
