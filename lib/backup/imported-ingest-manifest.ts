import { parseManifestState } from '../offline/ingest-manifest.ts';
import { ExportError } from './export-manifest.ts';

const sourceName = /^[a-z][a-z0-9_]*$/;
const ingestId = /^\d{8}t\d{6}-[0-9a-f]{8}$/;
const dataFile = /^([a-z][a-z0-9_]*)\/dt=\d{4}-\d{2}-\d{2}\/[^/\\]+\.parquet$/;

/**
 * Refuses an export's ingest manifest that could make later writes reach outside the new
 * environment: every record's source is a source name and its ingest id an id, every data
 * file it names is `<its source>/dt=YYYY-MM-DD/<name>.parquet` and is one of the files the
 * export holds (`offline/...`), and no replaced files are listed (an export writes none; the
 * next write deletes what such a line names). Delete, retention and compaction join these
 * paths onto the store's folder, so a `..` in one would rewrite or remove a file elsewhere.
 */
export function checkImportedIngestManifest(text: string, exported: ReadonlySet<string>): void {
  const where = 'offline/_ingests.jsonl of the export';
  const state = parseManifestState(text);
  if (state.replaced.length > 0)
    throw new ExportError(
      `${where} lists replaced files (${state.replaced[0]?.files[0] ?? 'none named'}), which an export never holds`,
      'export again with fstore export; a manifest edited by hand is not imported',
    );
  for (const record of state.records) {
    if (!sourceName.test(record.source) || !ingestId.test(record.ingestId))
      throw new ExportError(
        `${where} has an ingest record with source ${JSON.stringify(record.source)} and id ${JSON.stringify(record.ingestId)}, not a source name and an ingest id`,
        'export again with fstore export; a manifest edited by hand is not imported',
      );
    for (const file of record.files ?? []) {
      const match = dataFile.exec(file);
      if (match?.[1] !== record.source || !exported.has(`offline/${file}`))
        throw new ExportError(
          `${where} names ${JSON.stringify(file)} for ingest ${record.ingestId}, ${match?.[1] === record.source ? 'a file the export does not hold' : `not a data file of source ${record.source} (<source>/dt=YYYY-MM-DD/<name>.parquet)`}`,
          'export again with fstore export --include-data; a manifest edited by hand is not imported',
        );
    }
  }
}
