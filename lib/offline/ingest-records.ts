/**
 * The commit points of an AWS environment's offline store (ADR 0008): one JSON object per
 * committed ingest, on one line, at `offline/_ingests/<source>/<sha256>/<ingestId>.json`
 * (stores written before the commit rule: `offline/_ingests/<source>/<sha256>.json`). The Glue
 * table `fstore_ingests` reads them, so Athena queries can keep only the data objects of
 * committed ingests. Everything here is shared by the writer (S3IngestTarget), the Glue table
 * (OfflineStore) and the Athena dialect, so the three cannot drift apart.
 */

/** Key prefix of every ingest record in the offline bucket; the records table's location. */
export const ingestRecordsPrefix = 'offline/_ingests/';

/**
 * The Glue table over the records, in each environment's database. Source names cannot start
 * with `fstore_` (lib/definitions/identifiers.ts), so no source table can take this name.
 */
export const ingestRecordsTable = 'fstore_ingests';

/** Where the record of one ingest is written (the commit point). */
export function ingestRecordKey(source: string, sha256: string, ingestId: string): string {
  return `${ingestRecordsPrefix}${source}/${sha256}/${ingestId}.json`;
}

/** One listing under this prefix finds the records of `sha256` in both layouts. */
export function ingestRecordsOfContentPrefix(source: string, sha256: string): string {
  return `${ingestRecordsPrefix}${source}/${sha256}`;
}

/**
 * A regular expression, in the syntax Java (Athena) and JavaScript share, whose group 1 is the
 * ingest id in the path of a data object `.../<ingestId>-<n>.parquet`. Ingest ids are
 * `YYYYMMDDtHHMMSS-<8 hex>` in every version of fstore; an object named otherwise yields no id
 * and is never read by fstore's Athena queries.
 */
export const ingestIdInObjectPath = '/([0-9]{8}t[0-9]{6}-[0-9a-f]{8})-[0-9]+\\.parquet$';

const ingestIdPattern = new RegExp(ingestIdInObjectPath);

/** The ingest id in an object key or `s3://` path, as Athena's `regexp_extract` finds it. */
export function ingestIdOfObjectPath(objectPath: string): string | undefined {
  return ingestIdPattern.exec(objectPath)?.[1];
}
