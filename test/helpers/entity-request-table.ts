import type { DuckDBConnection } from '@duckdb/node-api';
import type { Registry } from '../../lib/registry/index.ts';
import { entityRequestColumns, entityRequestTable } from '../../lib/sql/athena-service-query.ts';
import { duckdbType } from '../../lib/sql/duckdb-dialect.ts';

/**
 * Creates `<database>.<request table of service>` on DuckDB as the stack's Glue table declares
 * it: `request_id` (the partition) then entityRequestColumns, each in its declared type, which is
 * how Athena reads every request file. `rows` are SQL value tuples in that column order; a value
 * of another type is cast on insert or refused, as Athena's reader converts or refuses it.
 */
export async function createEntityRequestTable(
  connection: DuckDBConnection,
  options: {
    readonly registry: Registry;
    readonly service: string;
    readonly database: string;
    readonly rows: readonly string[];
  },
): Promise<void> {
  const table = `${options.database}.${entityRequestTable(options.service)}`;
  const columns = [
    'request_id VARCHAR',
    ...entityRequestColumns(options.registry, options.service).map(
      (c) => `${c.name} ${duckdbType(c.type)}`,
    ),
  ];
  await connection.run(`CREATE TABLE ${table} (${columns.join(', ')})`);
  if (options.rows.length > 0)
    await connection.run(`INSERT INTO ${table} VALUES ${options.rows.join(', ')}`);
}
