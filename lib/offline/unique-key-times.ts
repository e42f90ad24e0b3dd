import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Registry } from '../registry/index.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { duckdbParquetFiles } from '../sql/duckdb-dialect.ts';
import type { PointInTimePlan } from '../sql/point-in-time-plan.ts';
import { partitionOfPath } from './dt-partition.ts';
import { queryRows } from './duckdb-session.ts';
import { committedFilesOf, type IngestRecord, type KeyTimeSet } from './ingest-manifest.ts';

/**
 * Whether a source can hold two rows with the same join keys and event time (a tie, which the
 * point-in-time join breaks by created time, then `fstore_seq`). Each ingest records the key
 * sets in which it brought no tie (IngestRecord.uniqueKeyTimes); a source whose every record
 * carries a set has no tie in it, since each ingest was checked against every row committed
 * before it. Compaction moves rows between files and keeps the records, so it keeps this true.
 */

/** The key sets the point-in-time joins of `source`'s passthrough views tie on. */
export function keyTimeSetsOf(registry: Registry, source: string): KeyTimeSet[] {
  const time = registry.sources.find((s) => s.name === source)?.timestampField;
  if (time === undefined) return [];
  const sets = new Map<string, KeyTimeSet>();
  for (const view of registry.featureViews) {
    if (view.source !== source || view.transform !== 'passthrough') continue;
    const set = { keys: view.joinKeys.map((k) => k.name).sort(), time };
    sets.set(identity(set), set);
  }
  return [...sets.values()];
}

/** The key sets every committed record of `source` carries; none for a source without records. */
export function uniqueKeyTimesOfSource(
  records: readonly IngestRecord[],
  source: string,
): KeyTimeSet[] {
  let common: Map<string, KeyTimeSet> | undefined;
  for (const record of records) {
    if (record.source !== source) continue;
    const carried = new Map(recordedSets(record).map((set) => [identity(set), set]));
    common = new Map([...(common ?? carried)].filter(([id]) => carried.has(id)));
  }
  return [...(common?.values() ?? [])];
}

/**
 * Of `sets`, those in which the rows of `newFiles` (an ingest's published, not yet committed
 * files) have no tie among themselves nor with a row committed before them. Only sets every
 * earlier record of the source carries are checked (with one that does not, the source has a
 * tie already, and checking would not change that). Ties fall on one event time, so one `dt`
 * partition: the new rows are compared with the committed files of their partitions only (and
 * any file outside a partition), and only with committed rows whose event time lies within the
 * new rows' range, a literal bound Parquet row-group statistics can prune by, so the check costs
 * what the ingest adds rather than the whole day. Rows are compared by a 64-bit hash of keys and
 * time, read as the join reads them (one relation, columns matched by name): a hash collision
 * can only report a tie that is not there, never hide one. Run under the ingest lock, so no
 * commit comes between the check and the record.
 */
export async function uniqueKeyTimesOfIngest(
  connection: DuckDBConnection,
  step: {
    offlineRoot: string;
    source: string;
    /** The committed records, read under the ingest lock. */
    records: readonly IngestRecord[];
    newFiles: readonly string[];
    sets: readonly KeyTimeSet[];
  },
): Promise<KeyTimeSet[]> {
  const earlier = step.records.some((r) => r.source === step.source);
  const carried = new Set(uniqueKeyTimesOfSource(step.records, step.source).map(identity));
  const sets = step.sets.filter((set) => !earlier || carried.has(identity(set)));
  if (sets.length === 0 || step.newFiles.length === 0) return [];
  const partitions = new Set(step.newFiles.map((file) => partitionOfPath(toSlashes(file))));
  const committed = committedFilesOf(step.offlineRoot, step.source, step.records).filter((file) => {
    const partition = partitionOfPath(toSlashes(file));
    return partition === undefined || partitions.has(partition);
  });
  // One relation, so new and committed rows are read (and hashed) with the same column types.
  const rows = duckdbParquetFiles([...step.newFiles, ...committed], `filename = '${fileColumn}'`);
  const isNew = `${fileColumn} IN (${step.newFiles.map(quoteLiteral).join(', ')})`;
  const time = quoteIdentifier(sets[0]?.time ?? '');
  const distinct = sets.map((set, i) => `count(DISTINCT ${hashOf(set)}) AS d${i}`);
  const [fresh] = await queryRows(
    connection,
    `SELECT count(*) AS n, ${distinct.join(', ')}, min(${time})::VARCHAR AS lo,
       max(${time})::VARCHAR AS hi, typeof(min(${time})) AS type,
       count(*) FILTER (WHERE ${time} IS NULL) AS nulls
     FROM ${rows} WHERE ${isNew}`,
  );
  if (fresh === undefined) return [];
  const untied = sets.filter((_, i) => fresh[`d${i}`] === fresh.n);
  if (untied.length === 0 || committed.length === 0) return untied;
  // All sets share the source's event time: only committed rows within the new rows' time range
  // can tie (NULL times too when a new row has one, as the hash treats NULLs as equal). The
  // bounds are literals, so Parquet row-group statistics prune the rest of the day.
  const bounds: string[] = [];
  if (typeof fresh.lo === 'string' && typeof fresh.hi === 'string') {
    const cast = (value: string) => `CAST(${quoteLiteral(value)} AS ${String(fresh.type)})`;
    bounds.push(`${time} BETWEEN ${cast(fresh.lo)} AND ${cast(fresh.hi)}`);
  }
  if (Number(fresh.nulls) > 0) bounds.push(`${time} IS NULL`);
  if (bounds.length === 0) return untied;
  const matches = untied.map(
    (set, i) =>
      `EXISTS (SELECT 1 FROM ${rows} WHERE NOT ${isNew} AND (${bounds.join(' OR ')})
         AND ${hashOf(set)} IN (SELECT ${hashOf(set)} FROM ${rows} WHERE ${isNew})) AS t${i}`,
  );
  const [found] = await queryRows(connection, `SELECT ${matches.join(', ')}`);
  return untied.filter((_, i) => found?.[`t${i}`] === false);
}

/** A column name for each row's file, unlikely to be one of the source's. */
const fileColumn = 'fstore_tie_check_file';

const hashOf = (set: KeyTimeSet) =>
  `hash(${[...set.keys, set.time].map(quoteIdentifier).join(', ')})`;

/** The record's key sets; a field edited into another shape by hand counts as none. */
function recordedSets(record: IngestRecord): KeyTimeSet[] {
  const sets: unknown = record.uniqueKeyTimes;
  if (!Array.isArray(sets)) return [];
  return sets.filter(
    (set): set is KeyTimeSet =>
      typeof set?.time === 'string' &&
      Array.isArray(set.keys) &&
      set.keys.every((key: unknown) => typeof key === 'string'),
  );
}

function identity(set: KeyTimeSet): string {
  return JSON.stringify([set.time, ...set.keys]);
}

/** Plan views whose rows have no tie, by the key sets of `uniqueBySource` (per source). */
export function tieFreeViews(
  plan: PointInTimePlan,
  uniqueBySource: (source: string) => readonly KeyTimeSet[] | undefined,
): Set<string> {
  const free = new Set<string>();
  for (const view of plan.views) {
    if (view.aggregations) continue;
    const wanted = identity({
      keys: view.joinKeys.map((k) => k.name).sort(),
      time: view.timestampColumn,
    });
    if (uniqueBySource(view.source)?.some((set) => identity(set) === wanted)) free.add(view.view);
  }
  return free;
}

const toSlashes = (file: string) => file.split(path.sep).join('/');
