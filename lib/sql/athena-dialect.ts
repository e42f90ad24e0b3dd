import type { ValueType } from '../definitions/index.ts';
import { type Dialect, quoteDoubled, quoteSingle, timestampText } from './dialect.ts';

const trinoScalar: Record<string, string> = {
  int32: 'INTEGER',
  int64: 'BIGINT',
  float32: 'REAL',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMP(6)',
};

function trinoType(type: ValueType): string {
  const list = /^list<(.+)>$/.exec(type);
  if (list) return `ARRAY(${trinoType(list[1] as ValueType)})`;
  const mapped = trinoScalar[type];
  if (!mapped) throw new Error(`no Athena type for ${type}`);
  return mapped;
}

/** Athena engine v3 (Trino) SQL over the Glue tables of one environment's database. */
export function athenaDialect(database: string): Dialect {
  return {
    name: 'athena',
    quote: quoteDoubled,
    literal: quoteSingle,
    sqlType: trinoType,
    // Trino names ROW fields only through a CAST to a named ROW type.
    struct: (fields) =>
      `CAST(ROW(${fields.map((f) => f.expression).join(', ')}) AS ROW(${fields.map((f) => `${quoteDoubled(f.name)} ${trinoType(f.type)}`).join(', ')}))`,
    field: (struct, name) => `${struct}.${quoteDoubled(name)}`,
    lastValueIgnoringNulls: (expression, over) =>
      `last_value(${expression}) IGNORE NULLS OVER (${over})`,
    minusSeconds: (expression, seconds) =>
      `(${expression} - INTERVAL '${Math.trunc(seconds)}' SECOND)`,
    timestampLiteral: (iso) => `TIMESTAMP '${timestampText(iso)}'`,
    epochMicros: (expression) => `CAST(round(to_unixtime(${expression}) * 1e6) AS BIGINT)`,
    quantiles: (expression, ps) =>
      `approx_percentile(CAST(${expression} AS DOUBLE), ARRAY[${ps.join(', ')}])`,
    // Trino has no DISTINCT in window aggregates; the frame's values are collected instead.
    countDistinctOver: (expression, over) =>
      `cardinality(array_distinct(filter(array_agg(${expression}) OVER (${over}), x -> x IS NOT NULL)))`,
    sourceRelation: (source) => `${quoteDoubled(database)}.${quoteDoubled(source)}`,
  };
}
