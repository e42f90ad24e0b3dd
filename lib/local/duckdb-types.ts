import type { ValueType } from '../definitions/index.ts';

const scalar: Record<string, string> = {
  int32: 'INTEGER',
  int64: 'BIGINT',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  bool: 'BOOLEAN',
  // Naive TIMESTAMP holding UTC, the Hive/Athena convention for Parquet.
  timestamp: 'TIMESTAMP',
};

/** DuckDB column type for an fstore value type. */
export function duckdbType(type: ValueType): string {
  const list = /^list<(.+)>$/.exec(type);
  if (list) return `${duckdbType(list[1] as ValueType)}[]`;
  const mapped = scalar[type];
  if (!mapped) throw new Error(`no DuckDB type for ${type}`);
  return mapped;
}

/** Double-quoted SQL identifier; registry identifiers are already [a-z][a-z0-9_]*. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Single-quoted SQL string literal. */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
