import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { DuckDBConnection } from '@duckdb/node-api';
import { mockClient } from 'aws-sdk-client-mock';
import { queryRows } from '../../lib/offline/duckdb-session.ts';
import { readThroughAthenaRelation } from './athena-relation-on-duckdb.ts';
import type { MemoryBucket } from './s3-memory-bucket.ts';

/**
 * Athena (aws-sdk-client-mock) answering each query by running its SQL on DuckDB over the
 * loopback bucket's objects of `source`, as Athena's Glue table `fstore_dev.<source>` reads them
 * (readThroughAthenaRelation builds it, with `"$path"`). Every answer is one page of text, with
 * the header row Athena puts first. `queries` keeps each SQL text sent.
 */
export function athenaOnMemoryBucket(options: {
  readonly connection: () => DuckDBConnection;
  /** The bucket's objects as they are when a query starts (a process of its own lists them). */
  readonly bucket: () =>
    | Pick<MemoryBucket, 'objects' | 'name'>
    | Promise<Pick<MemoryBucket, 'objects' | 'name'>>;
  readonly source: string;
  readonly scratch: () => string;
}) {
  const athena = mockClient(AthenaClient);
  const queries: string[] = [];
  const answers = new Map<string, Record<string, unknown>[]>();
  const install = () => {
    athena.reset();
    athena.on(StartQueryExecutionCommand).callsFake(async (input) => {
      const sql = String(input.QueryString);
      queries.push(sql);
      const bucket = await options.bucket();
      await readThroughAthenaRelation(options.connection(), {
        objects: bucket.objects,
        bucket: bucket.name,
        source: options.source,
        scratch: options.scratch(),
      });
      const id = `q${queries.length}`;
      answers.set(id, await queryRows(options.connection(), sql));
      return { QueryExecutionId: id };
    });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    athena.on(GetQueryResultsCommand).callsFake(async (input) => {
      const rows = answers.get(String(input.QueryExecutionId)) ?? [];
      const names = rows[0] ? Object.keys(rows[0]) : ['object', 'rows'];
      return {
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: names.map((Name) => ({ Name, Type: 'varchar' })) },
          Rows: [
            { Data: names.map((VarCharValue) => ({ VarCharValue })) },
            ...rows.map((row) => ({
              Data: names.map((name) => ({ VarCharValue: String(row[name]) })),
            })),
          ],
        },
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
