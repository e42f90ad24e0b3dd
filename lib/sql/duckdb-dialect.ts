import path from 'node:path';
import type { ValueType } from '../definitions/index.ts';
import { presentCommittedSourceFiles } from '../offline/ingest-manifest.ts';
import { type Dialect, quoteIdentifier, quoteLiteral, timestampText } from './dialect.ts';

const duckdbScalar: Record<string, string> = {
  int32: 'INTEGER',
  int64: 'BIGINT',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  bool: 'BOOLEAN',
  // Naive TIMESTAMP holding UTC, the Hive/Athena convention for Parquet.
  timestamp: 'TIMESTAMP',
};

/** DuckDB column type for an fstore value type (the DuckDB dialect's `sqlType`). */
export function duckdbType(type: ValueType): string {
  const list = /^list<(.+)>$/.exec(type);
  if (list) return `${duckdbType(list[1] as ValueType)}[]`;
  const mapped = duckdbScalar[type];
  if (!mapped) throw new Error(`no DuckDB type for ${type}`);
  return mapped;
}

/** A folder no ingest writes (names starting with `_` are fstore's own). */
const noCommittedFiles = '_no_committed_ingest';

/**
 * DuckDB SQL over the local offline layout `<offlineRoot>/<source>/dt=YYYY-MM-DD/*.parquet`.
 * A source relation reads only the files of committed ingests, as named by the manifest
 * `_ingests.jsonl` when the relation is rendered (ADR 0008). A committed file that is gone
 * fails the rendering (MissingCommittedFilesError), rather than reading the source without it.
 */
export function duckdbDialect(offlineRoot: string): Dialect {
  return {
    name: 'duckdb',
    quote: quoteIdentifier,
    literal: quoteLiteral,
    sqlType: duckdbType,
    struct: (fields) =>
      `struct_pack(${fields.map((f) => `${quoteIdentifier(f.name)} := ${f.expression}`).join(', ')})`,
    field: (struct, name) => `${struct}.${quoteIdentifier(name)}`,
    lastValueIgnoringNulls: (expression, over) =>
      `last_value(${expression} IGNORE NULLS) OVER (${over})`,
    minusSeconds: (expression, seconds) =>
      `(${expression} - INTERVAL '${Math.trunc(seconds)}' SECOND)`,
    timestampLiteral: (iso) => `TIMESTAMP '${timestampText(iso)}'`,
    epochMicros: (expression) => `epoch_us(${expression})`,
    notFinite: (expression) => `NOT isfinite(${expression})`,
    quantiles: (expression, ps) => `quantile_cont(${expression}, [${ps.join(', ')}])`,
    countDistinctOver: (expression, over) => `count(DISTINCT ${expression}) OVER (${over})`,
    sourceRelation: (source) => {
      const options = localParquetReadOptions;
      const files = presentCommittedSourceFiles(offlineRoot, source);
      // A store without a manifest (files placed by hand) is read whole, as before ADR 0008.
      if (files === undefined)
        return `read_parquet(${quoteLiteral(path.join(offlineRoot, source, '*', '*.parquet'))}, ${options})`;
      // No committed ingest: a pattern nothing matches, so DuckDB says "No files found" as it
      // does for an empty folder, which callers treat as a source without rows.
      if (files.length === 0)
        return `read_parquet(${quoteLiteral(path.join(offlineRoot, source, noCommittedFiles, '*.parquet'))}, ${options})`;
      return duckdbParquetFiles(files);
    },
  };
}

/** How the local layout's Parquet files are read: `dt` partitions, columns matched by name. */
const localParquetReadOptions =
  "hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true";

/** A list of the local layout's Parquet files as one DuckDB relation. */
export function duckdbParquetFiles(files: readonly string[], moreOptions?: string): string {
  const options = moreOptions
    ? `${localParquetReadOptions}, ${moreOptions}`
    : localParquetReadOptions;
  return `read_parquet([${files.map(quoteLiteral).join(', ')}], ${options})`;
}
