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
    const bytes = new Map(entries.map((e) => [e.file, e.bytes]));
    for (const same of sameColumnGroups(
      entries.map((e) => e.file),
      schemas,
    ))
      groups.push({
        source,
        partition,
        files: same,
        bytes: same.reduce((sum, file) => sum + (bytes.get(file) ?? 0), 0),
      });
  }
  return groups;
}

/**
 * `files` (of one partition) in groups that merge into files reading exactly like them: the
 * same leaf columns (see schemasOf) and an `fstore_seq` column. Groups of one are left out;
 * each group is sorted.
 */
export async function mergeableGroups(
  connection: DuckDBConnection,
  files: readonly string[],
): Promise<string[][]> {
  return sameColumnGroups(files, await schemasOf(connection, files));
}

function sameColumnGroups(
  files: readonly string[],
  schemas: ReadonlyMap<string, string>,
): string[][] {
  const bySchema = new Map<string, string[]>();
  for (const file of files) {
    const schema = schemas.get(file) ?? '';
    if (!schema.split('\n').some((column) => column.startsWith('fstore_seq\t'))) continue;
    bySchema.set(schema, [...(bySchema.get(schema) ?? []), file]);
  }
  return [...bySchema.values()].filter((same) => same.length > 1).map((same) => same.sort());
}

/**
 * Each file's leaf columns as `path\ttype\trepetition\tconverted\tlogical` lines, from the
 * Parquet footers. The path is the full one (`tags.list.element`): a list or struct column's
 * leaves have generic names, so two files whose list columns are named differently would
 * otherwise look alike and their merge fail. Readers match columns by name (union_by_name), so
 * the order only has to be the same for the same schema.
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
      `SELECT file_name, name, CAST(type AS VARCHAR) AS type, CAST(repetition_type AS VARCHAR) AS repetition, num_children, CAST(converted_type AS VARCHAR) AS converted, CAST(logical_type AS VARCHAR) AS logical FROM parquet_schema([${batch.map(quoteLiteral).join(', ')}]) ORDER BY file_name, column_id`,
    );
    const byFile = new Map<string, SchemaNode[]>();
    for (const row of rows) {
      const file = String(row.file_name);
      byFile.set(file, [...(byFile.get(file) ?? []), row as unknown as SchemaNode]);
    }
    for (const [file, nodes] of byFile) schemas.set(file, leafColumns(nodes).join('\n'));
  }
  return schemas;
}

/** One element of a Parquet schema, as `parquet_schema` lists them (depth first, root first). */
export interface SchemaNode {
  readonly name: string;
  readonly type: string | null;
  readonly repetition: string | null;
  readonly num_children: number | bigint | null;
  readonly converted: string | null;
  readonly logical: string | null;
}

/**
 * The leaf columns of one Parquet schema with their full paths and types. Elements come depth
 * first, each group followed by its `num_children` children; the first is the root.
 */
export function leafColumns(nodes: readonly SchemaNode[]): string[] {
  const leaves: string[] = [];
  const open: { path: string[]; remaining: number }[] = [];
  for (const [index, node] of nodes.entries()) {
    const children = Number(node.num_children ?? 0);
    if (index === 0) {
      open.push({ path: [], remaining: children });
      continue;
    }
    const parent = open.at(-1);
    if (!parent) throw new Error(`internal: Parquet schema element "${node.name}" has no parent`);
    parent.remaining -= 1;
    const nodePath = [...parent.path, node.name];
    if (children > 0) open.push({ path: nodePath, remaining: children });
    else
      leaves.push(
        [nodePath.join('.'), node.type, node.repetition, node.converted, node.logical]
          .map((part) => part ?? '')
          .join('\t'),
      );
    while (open.length > 0 && (open.at(-1)?.remaining ?? 0) === 0) open.pop();
  }
  return leaves;
}
