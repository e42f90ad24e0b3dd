import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { DuckDBConnection } from '@duckdb/node-api';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * Athena (aws-sdk-client-mock) running each query's SQL as it comes on a DuckDB connection, for
 * callers that render their SQL in DuckDB's dialect over a local store: results typed as Athena
 * types them (bigint, double, boolean, timestamp, else varchar; NULL as no value), in pages of
 * `pageRows` with NextToken, the header row first as Athena puts it. `queries` keeps each SQL.
 */
export function athenaOnDuckdbSql(options: {
  readonly connection: () => DuckDBConnection;
  readonly pageRows?: number;
}) {
  const athena = mockClient(AthenaClient);
  const queries: string[] = [];
  const pageRows = options.pageRows ?? 1000;
  const results = new Map<string, { names: string[]; types: string[]; rows: unknown[][] }>();
  const install = () => {
    athena.reset();
    athena.on(StartQueryExecutionCommand).callsFake(async (input) => {
      const sql = String(input.QueryString);
      queries.push(sql);
      const reader = await options.connection().runAndReadAll(sql);
      const id = `q${queries.length}`;
      results.set(id, {
        names: reader.columnNames(),
        types: reader.columnTypes().map((t) => athenaType(String(t))),
        rows: reader.getRowsJson() as unknown[][],
      });
      return { QueryExecutionId: id };
    });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    athena.on(GetQueryResultsCommand).callsFake(async (input) => {
      const result = results.get(String(input.QueryExecutionId));
      if (!result) throw new Error(`no query ${input.QueryExecutionId}`);
      const start = Number(input.NextToken ?? 0);
      const end = Math.min(result.rows.length, start + pageRows);
      const cell = (value: unknown) =>
        value === null || value === undefined
          ? {}
          : { VarCharValue: Object.is(value, -0) ? '-0.0' : String(value) };
      return {
        ResultSet: {
          ResultSetMetadata: {
            ColumnInfo: result.names.map((Name, i) => ({ Name, Type: result.types[i] })),
          },
          Rows: [
            ...(start === 0
              ? [{ Data: result.names.map((VarCharValue) => ({ VarCharValue })) }]
              : []),
            ...result.rows.slice(start, end).map((row) => ({ Data: row.map(cell) })),
          ],
        },
        ...(end < result.rows.length ? { NextToken: String(end) } : {}),
      };
    });
  };
  return {
    install,
    queries,
    client: () => new AthenaClient({ region: 'eu-west-1' }),
    restore: () => athena.restore(),
  };
}

function athenaType(type: string): string {
  if (/^(BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER)$/.test(type)) return 'bigint';
  if (/^(DOUBLE|FLOAT)$/.test(type)) return 'double';
  if (type === 'BOOLEAN') return 'boolean';
  if (type.startsWith('TIMESTAMP')) return 'timestamp';
  return 'varchar';
}
