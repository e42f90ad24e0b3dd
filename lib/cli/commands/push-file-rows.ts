import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../../api/api-error.ts';
import { parseJsonBody } from '../../api/parse-json-body.ts';
import { listElementType, type ValueType } from '../../definitions/value-types.ts';
import { openDuckdb, queryRows } from '../../offline/duckdb-session.ts';
import { readInputFile } from '../../offline/read-input-file.ts';
import type { RuntimeSource } from '../../registry/runtime-projection.ts';
import { quoteIdentifier } from '../../sql/dialect.ts';
import { CliError } from '../cli-error.ts';
import { parquetValue, pushValueOf } from './parquet-push-values.ts';

/** Rows of a push file, each with where it is in the file for error messages. */
export interface FileRows {
  readonly rows: unknown[];
  /** `line 7` (JSON lines) or `data row 3` (CSV, whose quoted cells may span lines). */
  readonly place: (index: number) => string;
}

/**
 * Reads `file` as push rows: `.jsonl` one JSON object per line (blank lines skipped), values
 * kept as JSON gives them; `.parquet` with its column types mapped to JSON values; `.csv` with a header row, each cell turned into its column's JSON
 * type (numbers, true/false, lists as JSON text; an empty cell is null), anything that does
 * not convert left as text for the push rules to refuse with its reason.
 */
export async function readPushFile(file: string, source: RuntimeSource): Promise<FileRows> {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.jsonl' || extension === '.ndjson') return readJsonLines(file);
  if (extension === '.csv') return readCsv(file, source);
  if (extension === '.parquet') return readParquet(file, source);
  throw new CliError(
    `${path.basename(file)}: push reads .jsonl, .csv or .parquet files, not "${extension}"`,
    {
      hint: 'write one JSON object per line (.jsonl), a CSV file with a header row, or Parquet',
    },
  );
}

async function readJsonLines(file: string): Promise<FileRows> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file}: ${error.code ?? error.message}`, {
      hint: 'pass the path of a .jsonl or .csv file',
    });
  });
  const rows: unknown[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((line, at) => {
    if (line.trim() === '') return;
    try {
      rows.push(parseJsonBody(line));
    } catch (error) {
      const reason = error instanceof ApiError ? error.message.replace(/^\$: /, '') : String(error);
      throw new CliError(`${path.basename(file)} line ${at + 1}: ${reason}`, {
        hint: 'write one JSON object per line',
      });
    }
    lines.push(at + 1);
  });
  return { rows, place: (index) => `line ${lines[index] ?? '?'}` };
}

async function readCsv(file: string, source: RuntimeSource): Promise<FileRows> {
  const session = await openDuckdb();
  try {
    await readInputFile(session.connection, file, {
      table: 'fstore_push_rows',
      rowNumberColumn: 'fstore_push_row',
      textColumns: 'all',
      role: 'push file',
    });
    const read = await queryRows(
      session.connection,
      'SELECT * FROM fstore_push_rows ORDER BY fstore_push_row',
    );
    const types = new Map(source.schema.map((c) => [c.name, c.type]));
    const rows = read.map(({ fstore_push_row: _, ...cells }) =>
      Object.fromEntries(
        Object.entries(cells).map(([name, cell]) => [name, csvValue(types.get(name), cell)]),
      ),
    );
    return { rows, place: (index) => `data row ${index + 1}` };
  } finally {
    session.close();
  }
}

/**
 * Parquet rows as push rows: DuckDB reads the file with its own column types; timestamps (any
 * precision, with or without time zone) and dates become ISO-8601 UTC text with microseconds,
 * decimals numbers, 64-bit integers (and whole decimals in int64 columns) numbers where exact
 * and text beyond 2^53, as in JSON pushes; lists JSON arrays. Whatever does not fit the source's
 * schema is left for the push rules to refuse with the row, the column and the reason, as for
 * any other file.
 */
async function readParquet(file: string, source: RuntimeSource): Promise<FileRows> {
  const session = await openDuckdb();
  try {
    const columns = await readInputFile(session.connection, file, {
      table: 'fstore_push_rows',
      rowNumberColumn: 'fstore_push_row',
      role: 'push file',
    });
    const select = [...columns]
      .map(
        ([name, type]) =>
          `${parquetValue(quoteIdentifier(name), type)} AS ${quoteIdentifier(name)}`,
      )
      .join(', ');
    const read = await queryRows(
      session.connection,
      `SELECT ${select || '*'} FROM fstore_push_rows ORDER BY fstore_push_row`,
    );
    const targets = new Map(source.schema.map((c) => [c.name, c.type]));
    const rows = read.map((cells) =>
      Object.fromEntries(
        Object.entries(cells).map(([name, value]) => [
          name,
          pushValueOf(columns.get(name) ?? '', targets.get(name), value),
        ]),
      ),
    );
    return { rows, place: (index) => `row ${index + 1}` };
  } finally {
    session.close();
  }
}

/** A CSV cell as its column's JSON value; text that is not one stays text (and is refused later). */
export function csvValue(type: ValueType | undefined, cell: unknown): unknown {
  if (cell === null || cell === undefined || cell === '') return null;
  const text = String(cell);
  if (type === undefined || type === 'string' || type === 'timestamp') return text;
  if (listElementType(type)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (type === 'bool') return /^true$/i.test(text) ? true : /^false$/i.test(text) ? false : text;
  if (type === 'int64' && /^-?\d+$/.test(text))
    return Number.isSafeInteger(Number(text)) ? Number(text) : text;
  const number = Number(text.trim());
  return text.trim() !== '' && !Number.isNaN(number) ? number : text;
}
