import { createHash, type Hash } from 'node:crypto';
import { endianness } from 'node:os';
import { type DuckDBConnection, DuckDBTypeId } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { quoteIdentifier } from '../sql/dialect.ts';

/**
 * Content hash v2 of a relation's rows (see canonical-rows.ts): the values as DuckDB holds them,
 * not formatted as text. Per column, in row order, two byte streams: one byte per row (1 a
 * value, 0 NULL) and the values: fixed-width types as their little-endian bytes (zeros for a
 * NULL; DOUBLE/FLOAT as their IEEE bits, so -0.0, NaN and every bit count; timestamps as
 * integers in their unit), VARCHAR/BLOB as a u32 byte length and the bytes (nothing for a NULL,
 * so '' and NULL differ by the first stream). Each stream is hashed alone, so DuckDB's chunk
 * sizes never enter. The result is SHA-256 of a header naming each column and its type tag, the
 * row count, and the two digests of each column in column order.
 *
 * DuckDB's own hash() is not used: its values are not documented as stable across versions.
 * Types without a fixed layout here (DECIMAL, LIST, STRUCT, ...) are hashed as DuckDB's text of
 * them (CAST to VARCHAR), tagged so, as v1 did for every type.
 */
export const TYPED_COLUMNS_HASH = 'sha256-of-typed-columns-v2';

/** Byte widths of the types hashed as their stored bytes, by DuckDB type id. */
const FIXED_WIDTH = new Map<DuckDBTypeId, number>([
  [DuckDBTypeId.BOOLEAN, 1],
  [DuckDBTypeId.TINYINT, 1],
  [DuckDBTypeId.SMALLINT, 2],
  [DuckDBTypeId.INTEGER, 4],
  [DuckDBTypeId.BIGINT, 8],
  [DuckDBTypeId.UTINYINT, 1],
  [DuckDBTypeId.USMALLINT, 2],
  [DuckDBTypeId.UINTEGER, 4],
  [DuckDBTypeId.UBIGINT, 8],
  [DuckDBTypeId.HUGEINT, 16],
  [DuckDBTypeId.UHUGEINT, 16],
  [DuckDBTypeId.FLOAT, 4],
  [DuckDBTypeId.DOUBLE, 8],
  [DuckDBTypeId.DATE, 4],
  [DuckDBTypeId.TIME, 8],
  [DuckDBTypeId.TIMESTAMP, 8],
  [DuckDBTypeId.TIMESTAMP_S, 8],
  [DuckDBTypeId.TIMESTAMP_MS, 8],
  [DuckDBTypeId.TIMESTAMP_NS, 8],
  [DuckDBTypeId.TIMESTAMP_TZ, 8],
]);

const LENGTH_PREFIXED = new Set([DuckDBTypeId.VARCHAR, DuckDBTypeId.BLOB]);

interface ColumnHash {
  readonly name: string;
  readonly tag: string;
  readonly typeId: DuckDBTypeId;
  readonly validity: Hash;
  readonly values: Hash;
}

/** The v2 content hash (hex) of `relation`'s rows in the order the query yields them. */
export async function typedColumnsHash(
  connection: DuckDBConnection,
  relation: string,
): Promise<string> {
  if (endianness() !== 'LE')
    throw new Error(
      `${TYPED_COLUMNS_HASH} reads DuckDB's little-endian value bytes; this machine is big-endian`,
    );
  const probe = await connection.stream(`SELECT * FROM ${relation} LIMIT 0`);
  const names = probe.columnNames();
  const types = probe.columnTypes();
  const projection = names.map((name, i) => {
    const id = types[i]?.typeId ?? DuckDBTypeId.INVALID;
    const column = quoteIdentifier(name);
    return FIXED_WIDTH.has(id) || LENGTH_PREFIXED.has(id)
      ? column
      : `CAST(${column} AS VARCHAR) AS ${column}`;
  });
  const columns: ColumnHash[] = names.map((name, i) => {
    const type = types[i];
    const id = type?.typeId ?? DuckDBTypeId.INVALID;
    const stored = FIXED_WIDTH.has(id) || LENGTH_PREFIXED.has(id);
    return {
      name,
      tag: stored ? DuckDBTypeId[id] : `VARCHAR FROM ${String(type)}`,
      typeId: stored ? id : DuckDBTypeId.VARCHAR,
      validity: createHash('sha256'),
      values: createHash('sha256'),
    };
  });
  const result = await connection.stream(`SELECT ${projection.join(', ')} FROM ${relation}`);
  let rows = 0;
  // The next chunk is asked for before this one is hashed: DuckDB reads it on its own thread
  // while this one hashes (each chunk is its own memory until it is collected).
  const fetch = () => {
    const fetching = result.fetchChunk();
    fetching.catch(() => undefined); // awaited below; not unhandled if hashing throws first
    return fetching;
  };
  let next = fetch();
  for (;;) {
    const chunk = await next;
    if (!chunk || chunk.rowCount === 0) break;
    next = fetch();
    const count = chunk.rowCount;
    rows += count;
    columns.forEach((column, i) => {
      hashVector(column, duckdb.data_chunk_get_vector(chunk.chunk, i), count);
    });
  }
  const total = createHash('sha256');
  total.update(`${TYPED_COLUMNS_HASH}\n`);
  for (const column of columns) total.update(`${JSON.stringify([column.name, column.tag])}\n`);
  total.update(`rows ${rows}\n`);
  for (const column of columns)
    total.update(`${column.validity.digest('hex')} ${column.values.digest('hex')}\n`);
  return total.digest('hex');
}

function hashVector(column: ColumnHash, vector: duckdb.Vector, count: number): void {
  const valid = validityBytes(vector, count);
  column.validity.update(valid);
  const width = FIXED_WIDTH.get(column.typeId);
  if (width !== undefined) {
    const data = duckdb.vector_get_data(vector, count * width);
    if (valid.includes(0)) {
      const copy = Buffer.from(data);
      for (let row = 0; row < count; row++)
        if (valid[row] === 0) copy.fill(0, row * width, (row + 1) * width);
      column.values.update(copy);
    } else column.values.update(data);
    return;
  }
  column.values.update(lengthPrefixed(vector, count, valid));
}

/** One byte per row: 1 when it holds a value, 0 for NULL (DuckDB's bit mask, least bit first). */
function validityBytes(vector: duckdb.Vector, count: number): Uint8Array {
  const bytes = new Uint8Array(count);
  const mask = duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8);
  if (!mask) return bytes.fill(1);
  for (let row = 0; row < count; row++) bytes[row] = ((mask[row >> 3] ?? 0) >> (row & 7)) & 1;
  return bytes;
}

/**
 * The values of a VARCHAR/BLOB vector as (u32 length, bytes) each. DuckDB's 16-byte string
 * entries hold a length, then up to 12 bytes inline or a pointer past a 4-byte prefix. Inline
 * bytes are copied one by one: a view per value cost more than the copy (1M short keys).
 */
function lengthPrefixed(vector: duckdb.Vector, count: number, valid: Uint8Array): Buffer {
  const entries = duckdb.vector_get_data(vector, count * 16);
  const view = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
  let size = 0;
  for (let row = 0; row < count; row++)
    if (valid[row] === 1) size += 4 + view.getUint32(row * 16, true);
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let row = 0; row < count; row++) {
    if (valid[row] === 0) continue;
    const at = row * 16;
    const length = view.getUint32(at, true);
    out.writeUInt32LE(length, offset);
    offset += 4;
    if (length <= 12) for (let i = 0; i < length; i++) out[offset + i] = entries[at + 4 + i] ?? 0;
    else
      out.set(
        duckdb.get_data_from_pointer(
          entries.buffer as ArrayBuffer,
          entries.byteOffset + at + 8,
          length,
        ),
        offset,
      );
    offset += length;
  }
  return out;
}
