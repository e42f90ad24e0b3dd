import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CSV_ROWS_HASH, contentHashOf } from '../../lib/offline/canonical-rows.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { TYPED_COLUMNS_HASH } from '../../lib/offline/typed-columns-hash.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

/** Writes the rows of `sql` to a new file in a fresh folder; returns its path. */
async function written(sql: string, options = 'FORMAT parquet', name = 'rows.parquet') {
  const file = path.join(await makeTempDir('typed-hash'), name);
  const session = await openDuckdb();
  try {
    await session.connection.run(`COPY (${sql}) TO '${file}' (${options})`);
  } finally {
    session.close();
  }
  return file;
}

const v2 = async (sql: string, options?: string) =>
  contentHashOf(await written(sql, options), TYPED_COLUMNS_HASH);

/** Rows across several DuckDB chunks (2,048 rows), NULLs here and there, long and short strings. */
const manyRows = `SELECT
    CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN '' ELSE 'key-' || i || repeat('x', i % 20) END AS k,
    TIMESTAMP '2026-01-01' + to_microseconds(i * 1000003) AS ts,
    CASE WHEN i % 5 = 0 THEN NULL ELSE i / 3.0 END AS d,
    CAST(i AS BIGINT) * 9007199254740 AS big
  FROM range(5000) t(i) ORDER BY i`;

describe('the v2 content hash (sha256-of-typed-columns-v2)', () => {
  it('is SHA-256 of the header, the row count and per column a validity and a value stream, as its doc says', async () => {
    const file = await written(
      `SELECT * FROM (VALUES ('ab', -0.0::DOUBLE, TIMESTAMP '1970-01-01 00:00:00.000001', 9007199254740993::BIGINT),
                             ('', NULL, NULL, -1::BIGINT),
                             (NULL, 1.5::DOUBLE, TIMESTAMP '1970-01-01 00:00:01', NULL)) t(s, d, ts, n)`,
    );
    const sha = (...parts: Buffer[]) =>
      createHash('sha256').update(Buffer.concat(parts)).digest('hex');
    const u32 = (n: number) => Buffer.from(new Uint32Array([n]).buffer);
    const f64 = (n: number) => Buffer.from(new Float64Array([n]).buffer);
    const i64 = (n: bigint) => Buffer.from(new BigInt64Array([n]).buffer);
    const zeros = Buffer.alloc(8);
    const columns = [
      ['s', 'VARCHAR', [1, 1, 0], [u32(2), Buffer.from('ab'), u32(0)]],
      ['d', 'DOUBLE', [1, 0, 1], [f64(-0), zeros, f64(1.5)]],
      ['ts', 'TIMESTAMP', [1, 0, 1], [i64(1n), zeros, i64(1_000_000n)]],
      ['n', 'BIGINT', [1, 1, 0], [i64(9007199254740993n), i64(-1n), zeros]],
    ] as const;
    const expected = createHash('sha256')
      .update(`${TYPED_COLUMNS_HASH}\n`)
      .update(columns.map(([name, tag]) => `${JSON.stringify([name, tag])}\n`).join(''))
      .update('rows 3\n')
      .update(
        columns
          .map(([, , valid, values]) => `${sha(Buffer.from(valid))} ${sha(...values)}\n`)
          .join(''),
      )
      .digest('hex');
    expect(await contentHashOf(file, TYPED_COLUMNS_HASH)).toBe(expected);
  });

  it('is the same whatever the Parquet writer options and chunking (compression, row groups, dictionary)', async () => {
    const hash = await v2(manyRows, 'FORMAT parquet, COMPRESSION zstd');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await v2(manyRows, 'FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 1000')).toBe(
      hash,
    );
    expect(await v2(manyRows, 'FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 77')).toBe(
      hash,
    );
    expect(await v2(manyRows, 'FORMAT parquet, DICTIONARY_SIZE_LIMIT 1')).toBe(hash);
  });

  it('tells apart NULL and empty string, -0.0 and 0.0, NaN and NULL, big integers one apart, timestamps one microsecond apart', async () => {
    const one = async (type: string, value: string) =>
      v2(`SELECT CAST(${value} AS ${type}) AS c FROM range(3)`);
    expect(await one('VARCHAR', 'NULL')).not.toBe(await one('VARCHAR', "''"));
    expect(await one('DOUBLE', "'-0.0'")).not.toBe(await one('DOUBLE', "'0.0'"));
    expect(await one('DOUBLE', "'NaN'")).not.toBe(await one('DOUBLE', 'NULL'));
    expect(await one('DOUBLE', 'NULL')).not.toBe(await one('DOUBLE', '0.0'));
    expect(await one('BIGINT', '9007199254740993')).not.toBe(
      await one('BIGINT', '9007199254740992'),
    );
    expect(await one('TIMESTAMP', "'2026-03-10 00:00:00.000001'")).not.toBe(
      await one('TIMESTAMP', "'2026-03-10 00:00:00'"),
    );
    // The same digits as another type are another column.
    expect(await one('INTEGER', '1')).not.toBe(await one('BIGINT', '1'));
    // Composed and decomposed é are different bytes, kept as written.
    expect(await one('VARCHAR', "'\u00e9'")).not.toBe(await one('VARCHAR', "'e\u0301'"));
  });

  it('depends on the row order, the column order and names, and where one string ends', async () => {
    const rows = "SELECT * FROM (VALUES ('a', 1), ('b', 2)) t(k, n)";
    const hash = await v2(rows);
    expect(await v2("SELECT * FROM (VALUES ('b', 2), ('a', 1)) t(k, n)")).not.toBe(hash);
    expect(await v2("SELECT n, k FROM (VALUES ('a', 1), ('b', 2)) t(k, n)")).not.toBe(hash);
    expect(await v2("SELECT * FROM (VALUES ('a', 1), ('b', 2)) t(key, n)")).not.toBe(hash);
    expect(await v2("SELECT * FROM (VALUES ('ab'), ('c')) t(k)")).not.toBe(
      await v2("SELECT * FROM (VALUES ('a'), ('bc')) t(k)"),
    );
    expect(await v2(manyRows)).not.toBe(
      await v2(`${manyRows.replace('ORDER BY i', 'ORDER BY i DESC')}`),
    );
  });

  it('changes when a string past 12 bytes changes in its last byte, and when one value of 5,000 changes', async () => {
    const long = (tail: string) => v2(`SELECT 'a string of more than twelve bytes ${tail}' AS k`);
    expect(await long('y')).not.toBe(await long('z'));
    expect(await v2(manyRows)).not.toBe(
      await v2(manyRows.replace('i / 3.0', '(i + (i = 4321)::INT) / 3.0')),
    );
  });

  it('differs for a damaged file (one byte of a value changed on disk)', async () => {
    const file = await written(
      "SELECT 'ZZZZ-' || i AS k, i AS n FROM range(100) t(i)",
      'FORMAT parquet, COMPRESSION uncompressed',
    );
    const hash = await contentHashOf(file, TYPED_COLUMNS_HASH);
    const bytes = await readFile(file);
    const at = bytes.indexOf('ZZZZ-42');
    expect(at).toBeGreaterThan(0);
    bytes[at + 3] = 'Y'.charCodeAt(0);
    await writeFile(file, bytes);
    // DuckDB reads the damaged page (no page checksum written): another value, another hash.
    expect(await contentHashOf(file, TYPED_COLUMNS_HASH)).not.toBe(hash);
  });

  it('hashes other types (DECIMAL, lists) as their text, so they still count', async () => {
    const hash = await v2('SELECT 1.25::DECIMAL(9,2) AS p, [1, 2] AS l');
    expect(await v2('SELECT 1.26::DECIMAL(9,2) AS p, [1, 2] AS l')).not.toBe(hash);
    expect(await v2('SELECT 1.25::DECIMAL(9,2) AS p, [2, 1] AS l')).not.toBe(hash);
  });

  it('is refused for a CSV file, whose manifests record v1 (the file own SHA-256)', async () => {
    const csv = await written(
      "SELECT 'a' AS k",
      "FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%fZ'",
      'rows.csv',
    );
    await expect(contentHashOf(csv, TYPED_COLUMNS_HASH)).rejects.toThrow(
      /sha256-of-typed-columns-v2 reads the column types of a Parquet file; .*rows\.csv is CSV/,
    );
    expect(await contentHashOf(csv)).toBe(await contentHashOf(csv, CSV_ROWS_HASH));
  });
});
