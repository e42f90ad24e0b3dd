import { mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampValue,
} from '@duckdb/node-api';
import { duckdbType, quoteIdentifier, quoteLiteral } from '../local/duckdb-types.ts';
import type { Registry, RegistrySource } from '../registry/index.ts';
import { type DemoFormat, type DemoOptions, parseDemoOptions } from './demo-options.ts';
import { type DemoRow, type DemoSource, demoSources, generateDemoRows } from './demo-rows.ts';

export interface WriteDemoDataOptions extends DemoOptions {
  readonly registry: Registry;
  readonly outDir: string;
  readonly format: DemoFormat;
  readonly onProgress?: (doneCustomers: number, totalCustomers: number) => void;
}

export interface DemoDataSummary {
  readonly files: { source: DemoSource; file: string; rows: number; bytes: number }[];
}

/**
 * Writes the demo rows as one file per source (`<outDir>/<source>.parquet|csv`), with the
 * column order and types of the registry's source schemas. Rows stream through DuckDB
 * appenders; each file is written under a temporary name and renamed when complete.
 */
export async function writeDemoData(options: WriteDemoDataOptions): Promise<DemoDataSummary> {
  const demoOptions = parseDemoOptions({
    customers: options.customers,
    days: options.days,
    seed: options.seed,
    end: options.end,
  });
  const sources = demoSources.map((name) => demoSourceSchema(options.registry, name));
  await mkdir(options.outDir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const appenders = new Map<DemoSource, DuckDBAppender>();
    for (const source of sources) {
      const columns = source.schema
        .map((c) => `${quoteIdentifier(c.name)} ${duckdbType(c.type)}`)
        .join(', ');
      await connection.run(`CREATE TABLE ${quoteIdentifier(source.name)} (${columns})`);
      appenders.set(source.name as DemoSource, await connection.createAppender(source.name));
    }
    const counts = new Map<DemoSource, number>(demoSources.map((s) => [s, 0]));
    let done = 0;
    for (const customer of generateDemoRows(demoOptions)) {
      for (const source of sources) {
        const name = source.name as DemoSource;
        const appender = appenders.get(name) as DuckDBAppender;
        for (const row of customer[name]) appendRow(appender, source, row);
        counts.set(name, (counts.get(name) ?? 0) + customer[name].length);
      }
      done += 1;
      if (done % 1000 === 0 || done === options.customers)
        options.onProgress?.(done, options.customers);
    }
    for (const appender of appenders.values()) appender.closeSync();

    const files: DemoDataSummary['files'] = [];
    for (const source of sources) {
      const file = path.join(options.outDir, `${source.name}.${options.format}`);
      await copyTable(connection, source, file, options.format);
      files.push({
        source: source.name as DemoSource,
        file,
        rows: counts.get(source.name as DemoSource) ?? 0,
        bytes: (await stat(file)).size,
      });
    }
    return { files };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function demoSourceSchema(registry: Registry, name: DemoSource): RegistrySource {
  const source = registry.sources.find((s) => s.name === name);
  if (!source) {
    throw new Error(
      `demo data is generated for the churn example, but the registry has no source "${name}"; restore feature-defs/sources.ts or write your own data`,
    );
  }
  return source;
}

function appendRow(appender: DuckDBAppender, source: RegistrySource, row: DemoRow): void {
  for (const column of source.schema) {
    const value = row[column.name];
    if (value === undefined)
      throw new Error(`demo row for ${source.name} has no column ${column.name}`);
    if (value === null) appender.appendNull();
    else if (column.type === 'timestamp')
      appender.appendTimestamp(new DuckDBTimestampValue(BigInt(value) * 1000n));
    else if (column.type === 'string') appender.appendVarchar(String(value));
    else if (column.type === 'int32') appender.appendInteger(Number(value));
    else if (column.type === 'int64') appender.appendBigInt(BigInt(value));
    else if (column.type === 'float64') appender.appendDouble(Number(value));
    else if (column.type === 'float32') appender.appendFloat(Number(value));
    else
      throw new Error(`demo data cannot write ${column.type} column ${source.name}.${column.name}`);
  }
  appender.endRow();
}

async function copyTable(
  connection: DuckDBConnection,
  source: RegistrySource,
  file: string,
  format: DemoFormat,
): Promise<void> {
  const temp = `${file}.tmp`;
  const formatOptions =
    format === 'parquet'
      ? 'FORMAT parquet, COMPRESSION zstd'
      : `FORMAT csv, HEADER true, TIMESTAMPFORMAT ${quoteLiteral('%Y-%m-%dT%H:%M:%S.%gZ')}`;
  await connection.run(
    `COPY ${quoteIdentifier(source.name)} TO ${quoteLiteral(temp)} (${formatOptions})`,
  );
  await rename(temp, file);
}
