import { gzipSync } from 'node:zlib';
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
 * With `unloadTo`, an `UNLOAD (<select>) TO 's3://<bucket>/<prefix>' WITH (... partitioned_by =
 * ARRAY['<column>'])` runs its select on DuckDB and writes the rows as Athena's JSON UNLOAD
 * does: one gzip JSON-lines object per partition folder `<column>=<value>/`, the partition
 * column left out of the lines, NULL values left out of their line. `failWhen` makes a query
 * whose SQL it accepts fail (Athena's FAILED state).
 */
export function athenaOnDuckdbSql(options: {
  readonly connection: () => DuckDBConnection;
  readonly pageRows?: number;
  readonly unloadTo?: { readonly name: string; readonly objects: Map<string, Buffer> };
}) {
  const athena = mockClient(AthenaClient);
  const queries: string[] = [];
  const pageRows = options.pageRows ?? 1000;
  const results = new Map<string, { names: string[]; types: string[]; rows: unknown[][] }>();
  const failWhen: ((sql: string) => boolean)[] = [];
  const failed = new Set<string>();
  const install = () => {
    athena.reset();
    failWhen.length = 0;
    failed.clear();
    athena.on(StartQueryExecutionCommand).callsFake(async (input) => {
      const sql = String(input.QueryString);
      queries.push(sql);
      const id = `q${queries.length}`;
      if (failWhen.some((rule) => rule(sql))) {
        failed.add(id);
        return { QueryExecutionId: id };
      }
      const unload =
        /^UNLOAD \(([\s\S]*)\) TO 's3:\/\/([^/]+)\/([^']*)' WITH \(.*partitioned_by = ARRAY\['(\w+)'\]\)$/.exec(
          sql,
        );
      if (unload && options.unloadTo) {
        const [, select = '', bucket, prefix, column = ''] = unload;
        if (bucket !== options.unloadTo.name)
          throw new Error(`UNLOAD to bucket ${bucket}, not ${options.unloadTo.name}`);
        const rows = (await options.connection().runAndReadAll(select)).getRowObjectsJson();
        const parts = new Map<string, string[]>();
        for (const row of rows) {
          const { [column]: partition, ...rest } = row;
          const line = JSON.stringify(
            Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== null)),
          );
          const folder = `${prefix}${column}=${String(partition)}/`;
          parts.set(folder, [...(parts.get(folder) ?? []), line]);
        }
        for (const [folder, lines] of parts)
          options.unloadTo.objects.set(`${folder}${id}_0.gz`, gzipSync(lines.join('\n')));
        results.set(id, { names: [], types: [], rows: [] });
        return { QueryExecutionId: id };
      }
      const reader = await options.connection().runAndReadAll(sql);
      results.set(id, {
        names: reader.columnNames(),
        types: reader.columnTypes().map((t) => athenaType(String(t))),
        rows: reader.getRowsJson() as unknown[][],
      });
      return { QueryExecutionId: id };
    });
    athena.on(GetQueryExecutionCommand).callsFake(async (input) => ({
      QueryExecution: {
        Status: failed.has(String(input.QueryExecutionId))
          ? { State: 'FAILED', StateChangeReason: 'failed by the test' }
          : { State: 'SUCCEEDED' },
      },
    }));
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
    /** From now on, queries whose SQL `rule` accepts end FAILED (cleared by `install`). */
    failWhen: (rule: (sql: string) => boolean) => failWhen.push(rule),
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
