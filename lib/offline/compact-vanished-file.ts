import { existsSync } from 'node:fs';
import path from 'node:path';
import { HintedError } from '../hinted-error.ts';
import { defaultKeepReplacedMs } from './compact-replaced.ts';
import {
  committedFilesOf,
  ingestIdOfFile,
  MissingCommittedFilesError,
  presentCommittedSourceFiles,
  readManifestStateSync,
} from './ingest-manifest.ts';

/** A read listed a data file that a compaction then replaced and deleted before the read opened it. */
export class CompactedWhileReadingError extends HintedError {
  constructor(
    readonly file: string,
    readonly source: string,
    compaction: { replacedBy: string; at: string } | undefined,
    options: { cause?: unknown },
  ) {
    super(
      `data file ${file} of source "${source}" was replaced by a compaction (fstore compact${compaction ? ` ${compaction.replacedBy} at ${compaction.at}` : ''}) after this read listed the files to read, and deleted when its keeping time ended; the store itself is intact`,
      `run it again: it reads the merged files, which hold the same rows. If reads take longer than compaction keeps replaced files, raise fstore compact --keep-replaced (env FSTORE_COMPACT_KEEP_REPLACED, default ${defaultKeepReplacedMs / 60_000}m)`,
      options,
    );
  }
}

/** Where DuckDB names a file it could not find or open. */
const missingFilePatterns = [
  /No files found that match the pattern "([^"]+)"/,
  /Cannot open file "([^"]+)"/,
];

/**
 * Explains a failed query over the local offline store (the relation readers render from the
 * manifest, then run) when DuckDB could not find one of its data files:
 * - a file no committed ingest names any more was replaced by a compaction that committed after
 *   the query listed its files, and was deleted since: CompactedWhileReadingError (rerun);
 * - a file the manifest still names was deleted by hand: MissingCommittedFilesError.
 * Undefined for any other error, which callers report as before. Training sets call this first
 * in their query-error handling, so a race with `fstore compact` is not told as "no data".
 */
export function explainVanishedDataFile(
  error: unknown,
  offlineRoot: string,
): HintedError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const named = missingFilePatterns.map((p) => p.exec(message)?.[1]).find((f) => f !== undefined);
  if (!named) return undefined;
  const file = path.resolve(named);
  const relative = path.relative(path.resolve(offlineRoot), file);
  const [source] = relative.split(path.sep);
  if (
    !source ||
    relative.startsWith('..') ||
    path.isAbsolute(relative) ||
    !ingestIdOfFile(path.basename(file)) ||
    existsSync(file)
  )
    return undefined;
  const state = readManifestStateSync(offlineRoot);
  if (!state) return undefined;
  if (committedFilesOf(offlineRoot, source, state.records).includes(file)) {
    try {
      presentCommittedSourceFiles(offlineRoot, source);
    } catch (missing) {
      if (missing instanceof MissingCommittedFilesError) return missing;
      throw missing;
    }
    return undefined; // restored since
  }
  const posix = relative.split(path.sep).join('/');
  const compaction = state.replaced.find((entry) => entry.files.includes(posix));
  return new CompactedWhileReadingError(relative, source, compaction, { cause: error });
}
