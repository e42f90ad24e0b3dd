import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from '../sql/dialect.ts';
import { queryRows } from './duckdb-session.ts';

/**
 * A merge must hold exactly the rows it replaces; anything else stops before the commit. Counts
 * come from the Parquet footers of `merged.files` (the files read) and `written`.
 */
export async function refuseRowCountChange(
  connection: DuckDBConnection,
  merged: {
    readonly source: string;
    readonly partition: string;
    readonly files: readonly string[];
  },
  written: readonly string[],
): Promise<void> {
  const rows = async (files: readonly string[]) =>
    Number(
      (
        await queryRows(
          connection,
          `SELECT sum(num_rows) AS n FROM parquet_file_metadata([${files.map(quoteLiteral).join(', ')}])`,
        )
      )[0]?.n ?? 0,
    );
  const before = await rows(merged.files);
  const after = written.length === 0 ? 0 : await rows(written);
  if (before !== after)
    throw new Error(
      `internal: merging ${merged.files.length} files of ${merged.source}/${merged.partition} gave ${after} rows, not ${before}; nothing was committed`,
    );
}
