import path from 'node:path';
import type { ValueType } from '../definitions/index.ts';
import { duckdbType } from '../local/duckdb-types.ts';
import { presentCommittedSourceFiles } from '../offline/ingest-manifest.ts';
import { type Dialect, quoteDoubled, quoteSingle, timestampText } from './dialect.ts';

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
    quote: quoteDoubled,
    literal: quoteSingle,
    sqlType: (type: ValueType) => duckdbType(type),
    struct: (fields) =>
      `struct_pack(${fields.map((f) => `${quoteDoubled(f.name)} := ${f.expression}`).join(', ')})`,
    field: (struct, name) => `${struct}.${quoteDoubled(name)}`,
    lastValueIgnoringNulls: (expression, over) =>
      `last_value(${expression} IGNORE NULLS) OVER (${over})`,
    minusSeconds: (expression, seconds) =>
      `(${expression} - INTERVAL '${Math.trunc(seconds)}' SECOND)`,
    timestampLiteral: (iso) => `TIMESTAMP '${timestampText(iso)}'`,
    epochMicros: (expression) => `epoch_us(${expression})`,
    quantiles: (expression, ps) => `quantile_cont(${expression}, [${ps.join(', ')}])`,
    countDistinctOver: (expression, over) => `count(DISTINCT ${expression}) OVER (${over})`,
    sourceRelation: (source) => {
      const options =
        "hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true";
      const files = presentCommittedSourceFiles(offlineRoot, source);
      // A store without a manifest (files placed by hand) is read whole, as before ADR 0008.
      if (files === undefined)
        return `read_parquet(${quoteSingle(path.join(offlineRoot, source, '*', '*.parquet'))}, ${options})`;
      // No committed ingest: a pattern nothing matches, so DuckDB says "No files found" as it
      // does for an empty folder, which callers treat as a source without rows.
      if (files.length === 0)
        return `read_parquet(${quoteSingle(path.join(offlineRoot, source, noCommittedFiles, '*.parquet'))}, ${options})`;
      return `read_parquet([${files.map(quoteSingle).join(', ')}], ${options})`;
    },
  };
}
