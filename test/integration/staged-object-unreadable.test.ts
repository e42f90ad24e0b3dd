import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import {
  firstUnreadableParquetFile,
  isUnnamedParquetDamage,
  unreadableParquetFile,
} from '../../lib/offline/unreadable-parquet.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

let duckdb: DuckdbSession;
let dir: string;
let good: string;
beforeAll(async () => {
  duckdb = await openDuckdb();
  dir = await makeTempDir('unreadable-parquet');
  good = path.join(dir, 'good.parquet');
  await duckdb.connection.run(
    `COPY (SELECT 'abc' AS s, 1::BIGINT AS n FROM range(100)) TO '${good}' (FORMAT parquet)`,
  );
});
afterAll(() => duckdb.close());

/** DuckDB's own message for reading `files` as the push ingest does (read_parquet of the batch). */
async function readError(files: readonly string[], select = '*'): Promise<string> {
  const list = files.map((f) => `'${f}'`).join(', ');
  try {
    await duckdb.connection.run(
      `SELECT ${select} FROM read_parquet([${list}], union_by_name = true, filename = true, file_row_number = true)`,
    );
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('DuckDB read the files');
}

async function damaged(name: string, bytes: (good: Buffer) => Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, bytes(await readFile(good)));
  return file;
}

describe('a staged object DuckDB cannot read as Parquet', () => {
  it.each([
    ['empty', () => Buffer.alloc(0)],
    ['cut to 8 bytes', (b: Buffer) => b.subarray(0, 8)],
    ['cut in half', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
    ['random bytes', () => randomBytes(4096)],
    [
      'a footer length past the file',
      (b: Buffer) => {
        const copy = Buffer.from(b);
        copy.writeUInt32LE(copy.readUInt32LE(copy.length - 8) + 100_000, copy.length - 8);
        return copy;
      },
    ],
    [
      'its body overwritten',
      (b: Buffer) => {
        const copy = Buffer.from(b);
        copy.fill(7, 4, copy.length - 8);
        return copy;
      },
    ],
  ])('is named by the error when it is %s', async (name, bytes) => {
    const bad = await damaged(`${name.replace(/\W+/g, '-')}.parquet`, bytes);
    const message = await readError([good, bad]);
    expect(unreadableParquetFile(message, [good, bad]), message).toBe(bad);
  });

  it('is not blamed for an Invalid Input Error of a readable file (a cast or parse of its values)', async () => {
    const message = await readError([good], "strptime(s, '%Y')");
    expect(message).toMatch(/^Invalid Input Error/);
    expect(unreadableParquetFile(message, [good])).toBeUndefined();
    const cast = await readError([good], 'CAST(s AS INTEGER)');
    expect(unreadableParquetFile(cast, [good])).toBeUndefined();
  });

  it('is not blamed when the unreadable file the error names is not one of the batch', async () => {
    const other = await damaged('other.parquet', () => Buffer.alloc(0));
    const message = await readError([other]);
    expect(unreadableParquetFile(message, [good])).toBeUndefined();
  });
});

/** `bytes` with the Thrift footer (between the body and its length and magic) passed to `damage`. */
function withFooter(bytes: Buffer, damage: (footer: Buffer) => void): Buffer {
  const copy = Buffer.from(bytes);
  const length = copy.readUInt32LE(copy.length - 8);
  damage(copy.subarray(copy.length - 8 - length, copy.length - 8));
  return copy;
}

describe('a staged object whose Parquet metadata DuckDB cannot decode (Thrift), reported without its name', () => {
  it.each([
    ['its footer zeroed', (b: Buffer) => withFooter(b, (f) => f.fill(0))],
    ["its footer's start overwritten", (b: Buffer) => withFooter(b, (f) => f.fill(0xee, 0, 10))],
    [
      'a footer length shorter than the footer',
      (b: Buffer) => {
        const copy = Buffer.from(b);
        copy.writeUInt32LE(copy.readUInt32LE(copy.length - 8) - 20, copy.length - 8);
        return copy;
      },
    ],
    ['its first page header overwritten', (b: Buffer) => Buffer.from(b).fill(0xff, 4, 16)],
  ])('is found by reading each file alone when it has %s', async (name, bytes) => {
    const bad = await damaged(`thrift-${name.replace(/\W+/g, '-')}.parquet`, bytes);
    const message = await readError([good, bad]);
    expect(message).not.toContain(bad);
    expect(unreadableParquetFile(message, [good, bad])).toBeUndefined();
    expect(isUnnamedParquetDamage(message), message).toBe(true);
    expect(await firstUnreadableParquetFile(duckdb.connection, [good, bad])).toBe(bad);
  });

  it('is not looked for after the Invalid Input Error of a readable file, and no readable file is named', async () => {
    expect(isUnnamedParquetDamage(await readError([good], "strptime(s, '%Y')"))).toBe(false);
    expect(await firstUnreadableParquetFile(duckdb.connection, [good, good])).toBeUndefined();
  });
});
