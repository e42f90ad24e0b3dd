import path from 'node:path';
import { HintedError } from '../hinted-error.ts';
import { quoteLiteral } from '../local/duckdb-types.ts';

export type InputFormat = 'csv' | 'parquet' | 'jsonl';

export class InputFileError extends HintedError {}

export function inputFormat(file: string): InputFormat {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.parquet') return 'parquet';
  if (extension === '.jsonl' || extension === '.ndjson' || extension === '.json') return 'jsonl';
  throw new InputFileError(
    `${path.basename(file)}: unknown file type "${extension}"`,
    'use .csv (with a header row), .parquet or .jsonl (one JSON object per line)',
  );
}

/**
 * A DuckDB table function reading `file`. CSV columns listed in `textColumns` are read as text
 * so fstore, not DuckDB's type sniffing, decides what is valid.
 */
export function readInputSql(
  file: string,
  format: InputFormat,
  options: { allText?: boolean } = {},
): string {
  const literal = quoteLiteral(file);
  if (format === 'parquet') return `read_parquet(${literal})`;
  if (format === 'jsonl')
    return `read_json(${literal}, format = 'newline_delimited', records = true)`;
  return `read_csv(${literal}, header = true${options.allText ? ', all_varchar = true' : ''})`;
}
