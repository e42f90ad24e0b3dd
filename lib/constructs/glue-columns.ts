import type { ValueType } from '../definitions/index.ts';

const hiveScalar: Record<string, string> = {
  int32: 'int',
  int64: 'bigint',
  float32: 'float',
  float64: 'double',
  string: 'string',
  bool: 'boolean',
  timestamp: 'timestamp',
};

/** Glue (Hive) column type for an fstore value type. */
export function hiveType(type: ValueType): string {
  const list = /^list<(.+)>$/.exec(type);
  if (list) return `array<${hiveType(list[1] as ValueType)}>`;
  const mapped = hiveScalar[type];
  if (!mapped) throw new Error(`no Glue type for ${type}`);
  return mapped;
}

/** The Glue database of an environment: identifiers only allow `_`, so `-` becomes `_`. */
export function glueDatabaseName(env: string): string {
  return `fstore_${env.replaceAll('-', '_')}`;
}

export const parquetStorage = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: {
    serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
  },
} as const;
