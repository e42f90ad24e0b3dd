import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from '../sql/dialect.ts';
import { queryRows } from './duckdb-session.ts';
import { committedFilesOf, type IngestRecord } from './ingest-manifest.ts';

/** Files of one partition that one compaction merges: same columns, each below the target. */
export interface MergeGroup {
  readonly source: string;
  /** `dt=YYYY-MM-DD`. */
  readonly partition: string;
  /** Absolute paths, sorted. */
  readonly files: readonly string[];
  readonly bytes: number;
}

/**
 * The merges that make `source`'s committed files fewer: in each partition, files smaller than
 * `targetBytes` with the same columns (names, types and order, so the merged file reads exactly
 * like them) and an `fstore_seq` column (which keeps ingest order) form a group; groups of two
 * files or more are merged. Files at or above the target are left as they are.
 */
export async function planCompaction(
  connection: DuckDBConnection,
  offlineRoot: string,
  source: string,
  records: readonly IngestRecord[],
  targetBytes: number,
): Promise<MergeGroup[]> {
  const files = committedFilesOf(offlineRoot, source, records);
  const small: { file: string; bytes: number }[] = [];
  for (const file of files) {
    const bytes = (await stat(file)).size;
    if (bytes < targetBytes) small.push({ file, bytes });
  }
  const byPartition = new Map<string, { file: string; bytes: number }[]>();
  for (const entry of small) {
    const partition = path.basename(path.dirname(entry.file));
    byPartition.set(partition, [...(byPartition.get(partition) ?? []), entry]);
  }
  const candidates = [...byPartition.values()].filter((entries) => entries.length > 1).flat();
  const schemas = await schemasOf(
    connection,
    candidates.map((c) => c.file),
  );
  const groups: MergeGroup[] = [];
  for (const [partition, entries] of [...byPartition].sort(([a], [b]) => a.localeCompare(b))) {
    if (entries.length < 2) continue;
    const bySchema = new Map<string, { file: string; bytes: number }[]>();
    for (const entry of entries) {
      const schema = schemas.get(entry.file) ?? '';
      if (!schema.split('\n').some((column) => column.startsWith('fstore_seq\t'))) continue;
      bySchema.set(schema, [...(bySchema.get(schema) ?? []), entry]);
    }
    for (const same of bySchema.values()) {
      if (same.length < 2) continue;
      groups.push({
        source,
        partition,
        files: same.map((e) => e.file).sort(),
        bytes: same.reduce((sum, e) => sum + e.bytes, 0),
      });
    }
  }
  return groups;
}

/**
 * Each file's leaf columns as `name\ttype...` lines, from the Parquet footers. Readers match
 * columns by name (union_by_name), so the order only has to be the same for the same schema.
 */
async function schemasOf(
  connection: DuckDBConnection,
  files: readonly string[],
): Promise<Map<string, string>> {
  const schemas = new Map<string, string>();
  for (let start = 0; start < files.length; start += 500) {
    const batch = files.slice(start, start + 500);
    const rows = await queryRows(
      connection,
      `SELECT file_name, list(name || chr(9) || coalesce(CAST(type AS VARCHAR), '') || chr(9) || coalesce(CAST(converted_type AS VARCHAR), '') || chr(9) || coalesce(CAST(logical_type AS VARCHAR), '')) AS columns FROM parquet_schema([${batch.map(quoteLiteral).join(', ')}]) WHERE num_children IS NULL OR num_children = 0 GROUP BY file_name`,
    );
    for (const row of rows)
      schemas.set(String(row.file_name), (row.columns as string[]).join('\n'));
  }
  return schemas;
}
