import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { DuckDBConnection } from '@duckdb/node-api';
import { HintedError } from '../hinted-error.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { queryRows } from './duckdb-session.ts';

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

export interface ReadInputOptions {
  /** Temporary table to create: the file's columns, in order, then `rowNumberColumn`. */
  readonly table: string;
  /** Column numbering the data rows from 1 in file order (internal: no file column may have it). */
  readonly rowNumberColumn: string;
  /**
   * CSV columns read as text, so fstore, not DuckDB's type sniffing, decides what is valid
   * (`all`: every column). Other formats keep their own types.
   */
  readonly textColumns?: readonly string[] | 'all';
  /** File columns starting with this prefix (in any case) are refused: it is fstore's own. */
  readonly reservedPrefix?: string;
  /** What the file is for, in errors: "entity file", "input file". */
  readonly role?: string;
}

const rejectsTable = 'fstore_input_rejects';
const rejectsScan = 'fstore_input_scans';
const maxReported = 5;

/**
 * Reads `file` (.csv with a header row, .parquet, .jsonl) into `options.table` and returns its
 * columns with their DuckDB types (without the row number). Every problem with the file is an
 * InputFileError naming the file, the line or row and the column where known, and the fix,
 * never the engine's message or SQL (that stays in `cause`).
 */
export async function readInputFile(
  connection: DuckDBConnection,
  file: string,
  options: ReadInputOptions,
): Promise<Map<string, string>> {
  const name = path.basename(file);
  const role = options.role ?? 'input file';
  const format = inputFormat(file);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile())
    throw new InputFileError(
      `${role} ${file} does not exist`,
      'pass the path of a .csv, .parquet or .jsonl file',
    );
  const head = await readHead(file);
  if (info.size === 0 || (format !== 'parquet' && head.trim() === '' && info.size <= head.length))
    throw new InputFileError(
      `${role} ${name} is empty`,
      format === 'csv'
        ? 'write a header row with the column names, then one line per row'
        : format === 'jsonl'
          ? 'write one JSON object per line, e.g. {"customer_id": "C1", "event_timestamp": "2026-01-31T12:00:00Z"}'
          : 'write the file again',
    );

  const csvOptions =
    format === 'csv'
      ? `header = true, delim = ${quoteLiteral(csvDelimiter(head))}, quote = '"', escape = '"', store_rejects = true, rejects_table = ${quoteLiteral(rejectsTable)}, rejects_scan = ${quoteLiteral(rejectsScan)}`
      : '';
  const reader = (types: string) =>
    format === 'parquet'
      ? `read_parquet(${quoteLiteral(file)})`
      : format === 'jsonl'
        ? `read_json(${quoteLiteral(file)}, format = 'newline_delimited', records = true)`
        : `read_csv(${quoteLiteral(file)}, ${csvOptions}${types})`;
  const unreadable = (error: unknown) => unreadableFileError(file, format, role, error);

  let described: Record<string, unknown>[];
  try {
    await dropRejects(connection, format);
    described = await queryRows(connection, `DESCRIBE SELECT * FROM ${reader('')}`);
  } catch (error) {
    throw await unreadable(error);
  }
  const fileColumns = described.map((r) => String(r.column_name));
  if (format === 'csv' && fileColumns.length === 1 && head.split(/\r?\n/)[0]?.trim() === '')
    throw new InputFileError(
      `${role} ${name} has no header row (its first line is empty)`,
      'put the column names on the first line',
    );
  const reserved = fileColumns.filter(
    (c) =>
      c.toLowerCase() === options.rowNumberColumn ||
      (options.reservedPrefix !== undefined && c.toLowerCase().startsWith(options.reservedPrefix)),
  );
  if (reserved.length > 0)
    throw new InputFileError(
      `${role} ${name} has column ${reserved.map((c) => `"${c}"`).join(', ')}, but ${options.reservedPrefix ? `names starting with "${options.reservedPrefix}" are` : 'that name is'} reserved for the columns fstore adds itself`,
      `rename the column (for example "${reserved[0]?.replace(/^fstore_/i, '') || 'my_column'}") or drop it from the file`,
    );

  const text = options.textColumns ?? [];
  const textColumns = new Set(
    text === 'all' ? fileColumns : fileColumns.filter((c) => text.includes(c)),
  );
  const rowNumber = quoteIdentifier(options.rowNumberColumn);
  // The Parquet reader numbers rows as it scans, on every thread; row_number() OVER () numbers
  // them on one (a million entity rows: half the load's wall time on two cores). The option
  // cannot be used on a file with its own column of that name.
  const numberedByReader =
    format === 'parquet' && !fileColumns.some((c) => c.toLowerCase() === 'file_row_number');
  const read = async () => {
    const types =
      format !== 'csv' || textColumns.size === 0
        ? ''
        : text === 'all'
          ? ', all_varchar = true'
          : `, types = {${[...textColumns].map((c) => `${quoteLiteral(c)}: 'VARCHAR'`).join(', ')}}`;
    const numbered = numberedByReader
      ? `SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS ${rowNumber} FROM read_parquet(${quoteLiteral(file)}, file_row_number = true)`
      : `SELECT *, row_number() OVER () AS ${rowNumber} FROM ${reader(types)}`;
    try {
      await dropRejects(connection, format);
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(options.table)} AS ${numbered}`,
      );
    } catch (error) {
      throw await unreadable(error);
    }
  };
  await read();
  if (format === 'csv') {
    // A column whose type DuckDB guessed from the first rows and a later value breaks: read as text.
    const retyped = await mistypedColumns(connection, fileColumns);
    if (retyped.length > 0) {
      for (const c of retyped) textColumns.add(c);
      await read();
    }
    await refuseRejectedLines(connection, name, role);
  }
  return new Map(
    (await queryRows(connection, `DESCRIBE ${quoteIdentifier(options.table)}`))
      .map((r) => [String(r.column_name), String(r.column_type)] as const)
      .filter(([c]) => c !== options.rowNumberColumn),
  );
}

/** The first 64 KiB of `file` as text. */
async function readHead(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * The delimiter of a CSV file, from its header line: the most frequent of `,` `;` tab `|`
 * outside quotes, `,` when none. Decided here rather than by DuckDB's sniffer, which reads a
 * file with one malformed line as a single column, so its header becomes data.
 */
export function csvDelimiter(head: string): string {
  const header = head.replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? '';
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    ['\t', 0],
    ['|', 0],
  ]);
  let quoted = false;
  for (const char of header) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best = ',';
  for (const [char, count] of counts) if (count > (counts.get(best) ?? 0)) best = char;
  return best;
}

/** The columns of the rejected CSV lines, when every rejection is a value DuckDB's guessed type cannot hold. */
async function mistypedColumns(
  connection: DuckDBConnection,
  fileColumns: readonly string[],
): Promise<string[]> {
  const kinds = await queryRows(
    connection,
    `SELECT DISTINCT error_type, column_name FROM ${rejectsTable}`,
  );
  if (kinds.length === 0 || kinds.some((k) => k.error_type !== 'CAST')) return [];
  const columns = kinds.map((k) => String(k.column_name));
  return columns.every((c) => fileColumns.includes(c)) ? columns : [];
}

async function dropRejects(connection: DuckDBConnection, format: InputFormat): Promise<void> {
  if (format !== 'csv') return;
  await connection.run(`DROP TABLE IF EXISTS ${rejectsTable}`);
  await connection.run(`DROP TABLE IF EXISTS ${rejectsScan}`);
}

/** Lines DuckDB could not read (wrong number of fields, a value not of its column's type). */
async function refuseRejectedLines(
  connection: DuckDBConnection,
  name: string,
  role: string,
): Promise<void> {
  const rejected = await queryRows(
    connection,
    `SELECT line, column_name, error_type, csv_line, error_message FROM ${rejectsTable} ORDER BY line LIMIT ${maxReported + 1}`,
  );
  if (rejected.length === 0) return;
  const total = Number(
    (await queryRows(connection, `SELECT count(*) AS n FROM ${rejectsTable}`))[0]?.n ?? 0,
  );
  const lines = rejected.slice(0, maxReported).map((r) => {
    const counts = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(String(r.error_message));
    const fields = counts
      ? `has ${counts[2]} field(s) where the header has ${counts[1]}`
      : 'has the wrong number of fields';
    switch (r.error_type) {
      case 'MISSING COLUMNS':
        return `line ${r.line} ${fields} (a value is missing, or the file was cut short): ${JSON.stringify(r.csv_line)}`;
      case 'TOO MANY COLUMNS':
        return `line ${r.line} ${fields} (quote values that contain the delimiter): ${JSON.stringify(r.csv_line)}`;
      case 'CAST':
        return `line ${r.line}, column ${r.column_name}: a value of another type than the rest of the column: ${JSON.stringify(r.csv_line)}`;
      case 'UNQUOTED VALUE':
        return `line ${r.line}: a quote inside an unquoted value: ${JSON.stringify(r.csv_line)}`;
      case 'INVALID ENCODING':
      case 'INVALID UNICODE':
        return `line ${r.line}: not valid UTF-8 text`;
      default:
        return `line ${r.line}: cannot be read as CSV: ${JSON.stringify(r.csv_line)}`;
    }
  });
  throw new InputFileError(
    `${role} ${name} has ${total} line(s) that cannot be read:\n  ${lines.join('\n  ')}${total > maxReported ? `\n  ... and ${total - maxReported} more` : ''}`,
    'fix those lines (line numbers count the header as line 1) and retry; values holding the delimiter, a quote or a line break must be in double quotes',
  );
}

/** Explains a file DuckDB cannot read at all, without DuckDB's message (kept as `cause`). */
async function unreadableFileError(
  file: string,
  format: InputFormat,
  role: string,
  error: unknown,
): Promise<InputFileError> {
  const name = path.basename(file);
  if (format === 'parquet')
    return new InputFileError(
      `${role} ${name} is not a readable Parquet file (it may be cut short, damaged, or not Parquet)`,
      'write the file again, or pass the rows as .csv or .jsonl',
      { cause: error },
    );
  if (format === 'jsonl') {
    const bad = await firstBadJsonLine(file);
    return new InputFileError(
      bad
        ? `${role} ${name} line ${bad.line} is not a JSON object: ${bad.text}`
        : `${role} ${name} cannot be read as JSON lines`,
      'write one JSON object per line, e.g. {"customer_id": "C1", "event_timestamp": "2026-01-31T12:00:00Z"}',
      { cause: error },
    );
  }
  return new InputFileError(
    `${role} ${name} cannot be read as CSV`,
    'save it as UTF-8 CSV with a header row, values holding the delimiter in double quotes',
    { cause: error },
  );
}

/** The first non-empty line of a JSON-lines file that is not one JSON object. */
async function firstBadJsonLine(file: string): Promise<{ line: number; text: string } | undefined> {
  const lines = createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let number = 0;
  try {
    for await (const line of lines) {
      number += 1;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        return {
          line: number,
          text: JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line),
        };
    }
  } finally {
    lines.close();
  }
  return undefined;
}
