import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampValue,
} from '@duckdb/node-api';
import { z } from 'zod';
import { HintedError } from '../hinted-error.ts';
import type { Registry } from '../registry/index.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { duckdbType } from '../sql/duckdb-dialect.ts';
import { type DemoFormat, demoFormats, demoOptionsSchema, parseWith } from './demo-options.ts';
import {
  type DemoColumn,
  type DemoRow,
  type DemoSource,
  type DemoValue,
  demoColumns,
  demoSources,
  generateDemoRows,
} from './demo-rows.ts';

export type DemoProgress = (doneCustomers: number, totalCustomers: number) => void;

export const writeDemoDataOptionsSchema = demoOptionsSchema.extend({
  /** Folder of the output files; created when missing. Existing files of the same name are replaced. */
  outDir: z
    .string({ error: 'outDir must be a folder path' })
    .min(1, 'outDir must be a folder path'),
  format: z.enum(demoFormats, { error: `format must be one of ${demoFormats.join(', ')}` }),
  /**
   * Compiled registry whose source schemas give the column order and types; it must hold the
   * three churn sources with the demo columns. Without it the built-in columns (equal to
   * feature-defs/sources.ts) are written.
   */
  registry: z
    .custom<Registry>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        Array.isArray((value as { sources?: unknown }).sources),
      'registry must be a compiled registry',
    )
    .optional(),
  /** Called after every 1% of the customers (at least every 1000) and once at the end. */
  onProgress: z
    .custom<DemoProgress>((value) => typeof value === 'function', 'onProgress must be a function')
    .optional(),
});

export type WriteDemoDataOptions = z.input<typeof writeDemoDataOptionsSchema>;

export interface DemoFileSummary {
  readonly source: DemoSource;
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface DemoDataSummary {
  /** One file per source, in the order of `demoSources`. */
  readonly files: readonly DemoFileSummary[];
  readonly totalRows: number;
  readonly totalBytes: number;
  readonly customers: number;
  /** The data covers [start, end). */
  readonly start: Date;
  readonly end: Date;
  readonly format: DemoFormat;
}

/**
 * Writes the demo rows as one file per source, `<outDir>/<source>.parquet|csv`, in a
 * deterministic order (customer, then event time), so the same options give byte-identical
 * files with the same DuckDB version.
 *
 * Types: strings are VARCHAR, int32 INTEGER, float64 DOUBLE, and timestamps are naive TIMESTAMP
 * holding UTC (the Hive/Athena convention for Parquet, as in lib/sql/duckdb-dialect.ts). CSV
 * files have a header and write timestamps as ISO 8601 with milliseconds and `Z`
 * (`2026-05-31T23:59:59.000Z`) and NULL as an empty field.
 *
 * Rows stream from the generator through DuckDB appenders into a scratch database on disk
 * under `outDir` (removed afterwards), so memory stays bounded for large runs; each file is
 * written under a temporary name and renamed when complete.
 */
export async function writeDemoData(input: WriteDemoDataOptions): Promise<DemoDataSummary> {
  const options = parseWith(writeDemoDataOptionsSchema, input);
  const sources = demoSources.map((source) => ({
    source,
    columns: options.registry ? registryColumns(options.registry, source) : demoColumns[source],
  }));
  await mkdir(options.outDir, { recursive: true });
  const scratch = await mkdtemp(path.join(options.outDir, '.demo-data-'));
  try {
    return await writeThroughDuckDB(scratch, sources, options);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function writeThroughDuckDB(
  scratch: string,
  sources: readonly { source: DemoSource; columns: readonly DemoColumn[] }[],
  options: z.output<typeof writeDemoDataOptionsSchema>,
): Promise<DemoDataSummary> {
  const { customers, days, seed, end, format, outDir, onProgress } = options;
  const instance = await DuckDBInstance.create(path.join(scratch, 'demo.duckdb'), {
    // Spill instead of growing: the tables of a large run do not need to fit in memory.
    memory_limit: '512MB',
    temp_directory: path.join(scratch, 'spill'),
    preserve_insertion_order: 'true',
  });
  const connection = await instance.connect();
  try {
    const writers: SourceWriter[] = [];
    for (const { source, columns } of sources) {
      const definition = columns
        .map((c) => `${quoteIdentifier(c.name)} ${duckdbType(c.type)}`)
        .join(', ');
      await connection.run(`CREATE TABLE ${quoteIdentifier(source)} (${definition})`);
      const appender = await connection.createAppender(source);
      writers.push({ source, appender, append: rowAppender(source, columns), rows: 0 });
    }

    const every = Math.max(1, Math.min(1000, Math.floor(customers / 100)));
    let done = 0;
    for (const customer of generateDemoRows({ customers, days, seed, end })) {
      for (const writer of writers) {
        const rows: readonly DemoRow[] = customer[writer.source];
        for (const row of rows) writer.append(writer.appender, row);
        writer.rows += rows.length;
      }
      done += 1;
      if (done % every === 0 || done === customers) {
        onProgress?.(done, customers);
        // Let timers, signals and progress output run during long generations.
        await yieldToEventLoop();
      }
    }
    for (const writer of writers) writer.appender.closeSync();

    const files: DemoFileSummary[] = [];
    for (const writer of writers) {
      const file = path.join(outDir, `${writer.source}.${format}`);
      await copyTable(connection, writer.source, file, format);
      files.push({
        source: writer.source,
        file,
        rows: writer.rows,
        bytes: (await stat(file)).size,
      });
    }
    return {
      files,
      totalRows: files.reduce((sum, f) => sum + f.rows, 0),
      totalBytes: files.reduce((sum, f) => sum + f.bytes, 0),
      customers,
      start: new Date(end.getTime() - days * 86_400_000),
      end: new Date(end.getTime()),
      format,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

interface SourceWriter {
  readonly source: DemoSource;
  readonly appender: DuckDBAppender;
  readonly append: (appender: DuckDBAppender, row: DemoRow) => void;
  rows: number;
}

/**
 * The registry's columns of a demo source, checked against what the generator produces: every
 * registry column must be a demo column of the same type. Demo columns the registry lacks are
 * left out.
 */
function registryColumns(registry: Registry, name: DemoSource): readonly DemoColumn[] {
  const hint =
    'demo data is made for the churn example sources of feature-defs/sources.ts; restore them or ingest your own files';
  const source = registry.sources.find((s) => s.name === name);
  if (!source)
    throw new HintedError(
      `cannot write demo data: the registry has no source "${name}"`,
      `${hint}`,
    );
  return source.schema.map((column) => {
    const produced = demoColumns[name].find((c) => c.name === column.name);
    if (!produced)
      throw new HintedError(
        `cannot write demo data: source "${name}" has a column "${column.name}" the demo data does not have`,
        hint,
      );
    if (produced.type !== column.type)
      throw new HintedError(
        `cannot write demo data: column ${name}.${column.name} is ${column.type} in the registry but ${produced.type} in the demo data`,
        hint,
      );
    return produced;
  });
}

type AppendValue = (appender: DuckDBAppender, value: DemoValue) => void;

function rowAppender(
  source: DemoSource,
  columns: readonly DemoColumn[],
): (appender: DuckDBAppender, row: DemoRow) => void {
  const appends = columns.map((column): [string, AppendValue] => [
    column.name,
    valueAppender(source, column),
  ]);
  return (appender, row) => {
    for (const [name, append] of appends) {
      const value = row[name];
      if (value === undefined) throw new Error(`demo row of ${source} has no column ${name}`);
      if (value === null) appender.appendNull();
      else append(appender, value);
    }
    appender.endRow();
  };
}

function valueAppender(source: DemoSource, column: DemoColumn): AppendValue {
  switch (column.type) {
    case 'string':
      return (appender, value) => appender.appendVarchar(String(value));
    case 'int32':
      return (appender, value) => appender.appendInteger(Number(value));
    case 'float64':
      return (appender, value) => appender.appendDouble(Number(value));
    case 'timestamp':
      // Epoch milliseconds → TIMESTAMP microseconds.
      return (appender, value) =>
        appender.appendTimestamp(new DuckDBTimestampValue(BigInt(value as number) * 1000n));
    default:
      throw new Error(`demo data cannot write ${column.type} column ${source}.${column.name}`);
  }
}

async function copyTable(
  connection: DuckDBConnection,
  table: DemoSource,
  file: string,
  format: DemoFormat,
): Promise<void> {
  const temp = `${file}.tmp`;
  const formatOptions =
    format === 'parquet'
      ? 'FORMAT parquet, COMPRESSION zstd'
      : `FORMAT csv, HEADER true, TIMESTAMPFORMAT ${quoteLiteral('%Y-%m-%dT%H:%M:%S.%gZ')}`;
  try {
    await connection.run(
      `COPY (SELECT * FROM ${quoteIdentifier(table)}) TO ${quoteLiteral(temp)} (${formatOptions})`,
    );
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}
