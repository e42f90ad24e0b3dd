import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { JoinKeyType } from '../definitions/index.ts';
import { internalColumnPrefix } from '../definitions/reserved-words.ts';
import { HintedError } from '../hinted-error.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { duckdbType } from '../sql/duckdb-dialect.ts';
import { queryRows } from './duckdb-session.ts';
import { InputFileError, inputFormat, readInputFile } from './read-input-file.ts';
import { castExpression, invalidCondition, rawText } from './typed-columns.ts';

export class EntityFileError extends HintedError {}

export interface LoadedEntities {
  readonly table: string;
  /** Columns of the file, in order; the timestamp column now holds UTC timestamps. */
  readonly columns: readonly string[];
  readonly rows: number;
  readonly timeRange?: { readonly min: string; readonly max: string };
}

/**
 * Loads the entity rows of a training set into table `fstore_entities`, casting join keys to
 * their registry types and the timestamp column to UTC, numbering rows in file order
 * (`fstore_row_id`). Any row that cannot be used is an error naming the row and column.
 */
export async function loadEntities(
  connection: DuckDBConnection,
  file: string,
  options: {
    timestampColumn: string;
    joinKeys: readonly { name: string; type: JoinKeyType }[];
    /** More CSV columns kept as written (on-demand string request values: "007" stays "007"). */
    textColumns?: readonly string[];
    /** The file's rows already being read into this connection by readRawEntities (entity-preload.ts). */
    preloaded?: Promise<ReadonlyMap<string, string>>;
  },
): Promise<LoadedEntities> {
  const format = inputFormat(file);
  const keyColumns = [options.timestampColumn, ...options.joinKeys.map((k) => k.name)];
  const name = path.basename(file);
  const rawTypes = await (options.preloaded ??
    readRawEntities(connection, file, [...keyColumns, ...(options.textColumns ?? [])]));
  const columns = [...rawTypes.keys()];
  const missing = keyColumns.filter((c) => !rawTypes.has(c));
  if (missing.length > 0) {
    throw new EntityFileError(
      `entity file ${name} has no column ${missing.map((m) => `"${m}"`).join(', ')} (it has ${columns.join(', ')})`,
      missing.includes(options.timestampColumn)
        ? 'name the timestamp column with --timestamp-column, or add it'
        : 'add the join keys of the requested views',
    );
  }
  const total = Number(
    (await queryRows(connection, 'SELECT count(*) AS n FROM fstore_entities_raw'))[0]?.n ?? 0,
  );
  if (total === 0)
    throw new EntityFileError(
      `entity file ${name} has no rows${format === 'csv' ? ' (only a header)' : ''}`,
      'add one row per entity and time to get features for',
    );
  const typed = new Map<string, { type: JoinKeyType | 'timestamp' }>([
    [options.timestampColumn, { type: 'timestamp' }],
    ...options.joinKeys.map((k) => [k.name, { type: k.type }] as const),
  ]);
  const checks = [...typed].map(([column, { type }]) => {
    const rawType = rawTypes.get(column) ?? 'VARCHAR';
    const emptyIsError = column === options.timestampColumn;
    const condition = emptyIsError
      ? `(${quoteIdentifier(column)} IS NULL OR ${invalidCondition(column, rawType, type)})`
      : invalidCondition(column, rawType, type);
    return `SELECT fstore_row_id, ${quoteLiteral(column)} AS column_name, CAST(${rawText(column, rawTypes.get(column) ?? 'VARCHAR')} AS VARCHAR) AS value, ${quoteLiteral(type)} AS type FROM fstore_entities_raw WHERE ${condition}`;
  });
  const problems = await queryRows(
    connection,
    `${checks.join(' UNION ALL ')} ORDER BY fstore_row_id LIMIT 5`,
  );
  if (problems.length > 0) {
    const lines = problems.map(
      (p) =>
        `row ${p.fstore_row_id}, column ${p.column_name}: ${p.value === null ? 'empty value' : `${JSON.stringify(p.value)} is not a valid ${p.type}`}`,
    );
    throw new EntityFileError(
      `entity file ${name} has rows that cannot be used:\n  ${lines.join('\n  ')}`,
      'fix those rows (numbered from 1, after a CSV header): timestamps may carry an offset (2026-01-31T12:00:00+02:00) and are converted to UTC; join keys must match their entity types',
    );
  }
  const select = columns.map((c) => {
    const target = typed.get(c);
    return target
      ? `${castExpression(c, rawTypes.get(c) ?? 'VARCHAR', target.type)} AS ${quoteIdentifier(c)}`
      : quoteIdentifier(c);
  });
  const asTyped = [...typed].every(([c, { type }]) => holdsType(rawTypes.get(c), type));
  if (asTyped) {
    // A typed file (Parquet with these types) needs no cast: the table is renamed, not copied
    // (a million rows: ~0.09 s CPU).
    await connection.run('DROP TABLE IF EXISTS fstore_entities');
    await connection.run('ALTER TABLE fstore_entities_raw RENAME TO fstore_entities');
  } else {
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE fstore_entities AS SELECT ${select.join(', ')}, fstore_row_id FROM fstore_entities_raw`,
    );
    await connection.run('DROP TABLE fstore_entities_raw');
  }
  const stats = (
    await queryRows(
      connection,
      `SELECT count(*) AS n, strftime(min(${quoteIdentifier(options.timestampColumn)}), '%Y-%m-%dT%H:%M:%S.%fZ') AS min, strftime(max(${quoteIdentifier(options.timestampColumn)}), '%Y-%m-%dT%H:%M:%S.%fZ') AS max FROM fstore_entities`,
    )
  )[0];
  const rows = Number(stats?.n ?? 0);
  return {
    table: 'fstore_entities',
    columns,
    rows,
    ...(rows > 0 ? { timeRange: { min: String(stats?.min), max: String(stats?.max) } } : {}),
  };
}

/**
 * Reads the entity file's rows as they are into table `fstore_entities_raw`, numbered in file
 * order (`fstore_row_id`); returns its columns and their DuckDB types. `textColumns`: CSV
 * columns read as text (no other format reads them differently).
 */
export function readRawEntities(
  connection: DuckDBConnection,
  file: string,
  textColumns: readonly string[],
): Promise<ReadonlyMap<string, string>> {
  return readInputFile(connection, file, {
    table: 'fstore_entities_raw',
    rowNumberColumn: 'fstore_row_id',
    textColumns,
    // Every column fstore's SQL adds next to the entity columns starts with it.
    reservedPrefix: internalColumnPrefix,
    role: 'entity file',
  }).catch((error: unknown) => {
    if (error instanceof InputFileError)
      throw new EntityFileError(error.message, error.hint, { cause: error.cause });
    throw error;
  });
}

/** True when a column of DuckDB type `rawType` already holds `type` as fstore stores it (UTC `TIMESTAMP`). */
function holdsType(rawType: string | undefined, type: JoinKeyType | 'timestamp'): boolean {
  return rawType === (type === 'timestamp' ? 'TIMESTAMP' : duckdbType(type));
}
