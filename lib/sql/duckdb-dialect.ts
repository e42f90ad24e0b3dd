import path from 'node:path';
import type { ValueType } from '../definitions/index.ts';
import { duckdbType } from '../local/duckdb-types.ts';
import { type Dialect, quoteDoubled, quoteSingle, timestampText } from './dialect.ts';

/** DuckDB SQL over the local offline layout `<offlineRoot>/<source>/dt=YYYY-MM-DD/*.parquet`. */
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
      const glob = path.join(offlineRoot, source, '*', '*.parquet');
      return `read_parquet(${quoteSingle(glob)}, hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)`;
    },
  };
}
