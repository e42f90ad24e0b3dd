import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValueType } from '../../../lib/definitions/index.ts';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import { castExpression, invalidCondition, rawText } from '../../../lib/offline/typed-columns.ts';

// Each case runs the expressions in DuckDB over a one-row table whose column `raw` has the raw
// type an input file gives it.
let duckdb: DuckdbSession;
beforeAll(async () => {
  duckdb = await openDuckdb();
});
afterAll(() => duckdb.close());

async function convert(
  rawType: string,
  rawSql: string,
  type: ValueType,
): Promise<{ value: unknown; invalid: unknown }> {
  const [row] = await queryRows(
    duckdb.connection,
    `SELECT CAST(${castExpression('raw', rawType, type)} AS VARCHAR) AS value, ${invalidCondition('raw', rawType, type)} AS invalid FROM (SELECT CAST(${rawSql} AS ${rawType}) AS raw)`,
  );
  return row as { value: unknown; invalid: unknown };
}

describe('castExpression and invalidCondition in DuckDB', () => {
  it('converts text to integers and flags text that is no integer', async () => {
    expect(await convert('VARCHAR', "'42'", 'int64')).toEqual({ value: '42', invalid: false });
    expect(await convert('VARCHAR', "'-7'", 'int32')).toEqual({ value: '-7', invalid: false });
    expect(await convert('VARCHAR', "'abc'", 'int32')).toEqual({ value: null, invalid: true });
  });

  it('flags a fractional number for an integer feature (the cast would round it) but not for a float64', async () => {
    expect((await convert('DOUBLE', '3.5', 'int64')).invalid).toBe(true);
    expect((await convert('DOUBLE', '3.5', 'int32')).invalid).toBe(true);
    expect(await convert('DOUBLE', '3.0', 'int64')).toEqual({ value: '3', invalid: false });
    expect(await convert('DOUBLE', '3.5', 'float64')).toEqual({ value: '3.5', invalid: false });
  });

  it('flags an integer outside int32 for an int32 feature only', async () => {
    expect((await convert('BIGINT', '3000000000', 'int32')).invalid).toBe(true);
    expect(await convert('BIGINT', '3000000000', 'int64')).toEqual({
      value: '3000000000',
      invalid: false,
    });
  });

  it('accepts every int64 of a HUGEINT or UBIGINT column, which DuckDB rounds to DOUBLE otherwise than BIGINT', async () => {
    // A JSON-lines column holding 2^63 - 1 is read as HUGEINT; its DOUBLE is not the BIGINT's.
    expect(await convert('HUGEINT', '-645350772181174849', 'int64')).toEqual({
      value: '-645350772181174849',
      invalid: false,
    });
    expect(await convert('HUGEINT', '9223372036854775807', 'int64')).toEqual({
      value: '9223372036854775807',
      invalid: false,
    });
    expect(await convert('UBIGINT', '9007199254740993', 'int64')).toEqual({
      value: '9007199254740993',
      invalid: false,
    });
    expect((await convert('HUGEINT', '9223372036854775808', 'int64')).invalid).toBe(true);
    expect((await convert('HUGEINT', '2147483648', 'int32')).invalid).toBe(true);
  });

  it('does not flag a missing value', async () => {
    expect(await convert('VARCHAR', 'NULL', 'int64')).toEqual({ value: null, invalid: false });
    expect(await convert('VARCHAR', 'NULL', 'timestamp')).toEqual({ value: null, invalid: false });
  });

  it('reads timestamps with an offset as that instant in UTC and without one as UTC', async () => {
    expect(await convert('VARCHAR', "'2026-03-01T12:00:00+02:00'", 'timestamp')).toEqual({
      value: '2026-03-01 10:00:00',
      invalid: false,
    });
    expect((await convert('VARCHAR', "'2026-03-01 12:00:00'", 'timestamp')).value).toBe(
      '2026-03-01 12:00:00',
    );
    expect(
      await convert('TIMESTAMP WITH TIME ZONE', "'2026-03-01T12:00:00+02:00'", 'timestamp'),
    ).toEqual({
      value: '2026-03-01 10:00:00',
      invalid: false,
    });
    expect(await convert('VARCHAR', "'yesterday-ish'", 'timestamp')).toEqual({
      value: null,
      invalid: true,
    });
  });

  it('keeps a TIMESTAMP column as it is, microseconds included', async () => {
    expect(castExpression('raw', 'TIMESTAMP', 'timestamp')).toBe('"raw"');
    expect((await convert('TIMESTAMP', "'2026-03-01 12:00:00.123456'", 'timestamp')).value).toBe(
      '2026-03-01 12:00:00.123456',
    );
  });

  it('converts the text of JSON values, without their quotes', async () => {
    expect(rawText('raw', 'JSON')).toBe(`("raw" ->> '$')`);
    expect(rawText('raw', 'VARCHAR')).toBe('"raw"');
    expect(await convert('JSON', `'"17"'`, 'int64')).toEqual({ value: '17', invalid: false });
    expect(await convert('JSON', `'"red"'`, 'string')).toEqual({ value: 'red', invalid: false });
    expect(await convert('JSON', `'"red"'`, 'int64')).toEqual({ value: null, invalid: true });
  });

  it('quotes column names, so a name with a quote or space is read as a name', async () => {
    const [row] = await queryRows(
      duckdb.connection,
      `SELECT ${castExpression('a "b" c', 'VARCHAR', 'int64')} AS value FROM (SELECT '5' AS "a ""b"" c")`,
    );
    expect(row?.value).toBe(5);
  });
});
