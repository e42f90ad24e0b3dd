import { BOOLEAN, type DuckDBConnection, DuckDBScalarFunction } from '@duckdb/node-api';
import { quoteIdentifier } from '../sql/dialect.ts';

/**
 * Per-view match counts taken while the result streams to its file or reader, so the training
 * set needs neither a result table nor a second pass over the join: `condition` is an
 * always-true filter calling a volatile function that adds up each flag column chunk by chunk.
 * Volatile, DuckDB neither pushes it into the join nor drops it; `rows` lets the caller check
 * that every result row was seen exactly once. Once `signal` aborts, the next call fails the
 * query, so a stop does not wait for the join to end.
 */
export interface MatchTally {
  readonly condition: string;
  /** Per flag column, the rows it was true in so far. */
  counts(): number[];
  /** Rows the filter has seen so far. */
  rows(): number;
}

export function registerMatchTally(
  connection: DuckDBConnection,
  flagColumns: readonly string[],
  signal?: AbortSignal,
  name = 'fstore_match_tally',
): MatchTally {
  if (flagColumns.length === 0) throw new Error('registerMatchTally needs one flag column or more');
  const counts = flagColumns.map(() => 0);
  let rows = 0;
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name,
      returnType: BOOLEAN,
      parameterTypes: flagColumns.map(() => BOOLEAN),
      volatile: true,
      // Called for NULL flags too: by default DuckDB would answer NULL and the filter drop the row.
      specialHandling: true,
      mainFunction: (info, input, output) => {
        if (signal?.aborted) {
          info.setError('stopped');
          return;
        }
        const size = input.rowCount;
        for (const [index] of flagColumns.entries()) {
          const flags = input.getColumnVector(index);
          let matched = 0;
          for (let row = 0; row < size; row++) if (flags.getItem(row) === true) matched++;
          counts[index] = (counts[index] ?? 0) + matched;
        }
        for (let row = 0; row < size; row++) output.setItem(row, true);
        output.flush();
        rows += size;
      },
    }),
  );
  return {
    condition: `${name}(${flagColumns.map(quoteIdentifier).join(', ')})`,
    counts: () => [...counts],
    rows: () => rows,
  };
}
