import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPushFile } from '../../lib/cli/commands/push-file-rows.ts';
import { defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { valueProblem } from '../../lib/push/push-values.ts';
import { compileRegistry, type Registry } from '../../lib/registry/index.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const ledger = defineSource({
  name: 'ledger',
  schema: {
    account_id: 'int64',
    balance: 'int64',
    history: 'list<int64>',
    ratio: 'float64',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});

let work: string;
let registry: Registry;
const source = () => {
  const found = registry.sources.find((s) => s.name === 'ledger');
  if (!found) throw new Error('no ledger source');
  return found;
};

/** Writes a Parquet file from a DuckDB SELECT, so its column types are DuckDB's, not JSON's. */
async function parquet(name: string, select: string): Promise<string> {
  const file = path.join(work, name);
  const session = await openDuckdb();
  try {
    await session.connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  } finally {
    session.close();
  }
  return file;
}

const beyond = '9007199254740993'; // 2^53 + 1: the nearest double is 2^53.

describe('a Parquet push file keeps 64-bit integers exact', () => {
  beforeAll(async () => {
    work = await makeTempDir('push-parquet-int64');
    registry = compileRegistry([{ definition: ledger }]);
  });

  it('gives BIGINT values beyond 2^53 as decimal text, in lists too, and smaller ones as numbers', async () => {
    const file = await parquet(
      'bigint.parquet',
      `SELECT CAST(${beyond} AS BIGINT) AS account_id, CAST(-${beyond} AS BIGINT) AS balance,
        [CAST(${beyond} AS BIGINT), 7] AS history, 0.5 AS ratio,
        TIMESTAMP '2026-11-30 10:00:00' AS event_ts`,
    );
    const { rows } = await readPushFile(file, source());
    expect(rows).toEqual([
      {
        account_id: beyond,
        balance: `-${beyond}`,
        history: [beyond, 7],
        ratio: 0.5,
        event_ts: '2026-11-30T10:00:00.000000Z',
      },
    ]);
  });

  it('reads a whole DECIMAL beyond 2^53 into an int64 column exactly, not as the nearest double', async () => {
    const file = await parquet(
      'decimal.parquet',
      `SELECT CAST(${beyond} AS DECIMAL(20, 0)) AS account_id,
        CAST(${beyond} AS DECIMAL(38, 2)) AS balance,
        [CAST(${beyond} AS DECIMAL(20, 0)), CAST(12 AS DECIMAL(20, 0))] AS history,
        CAST(12.25 AS DECIMAL(10, 2)) AS ratio, TIMESTAMP '2026-11-30 10:00:00' AS event_ts`,
    );
    const { rows } = await readPushFile(file, source());
    expect(rows).toEqual([
      {
        account_id: beyond,
        balance: beyond,
        history: [beyond, 12],
        ratio: 12.25,
        event_ts: '2026-11-30T10:00:00.000000Z',
      },
    ]);
    expect(valueProblem('int64', (rows[0] as Record<string, unknown>).account_id)).toBeUndefined();
  });

  it('leaves a DECIMAL with a fraction in an int64 column for the push rules to refuse', async () => {
    const file = await parquet(
      'fraction.parquet',
      `SELECT CAST(5 AS BIGINT) AS account_id, CAST(2.5 AS DECIMAL(10, 1)) AS balance,
        [] AS history, 1.0 AS ratio, TIMESTAMP '2026-11-30 10:00:00' AS event_ts`,
    );
    const { rows } = await readPushFile(file, source());
    const balance = (rows[0] as Record<string, unknown>).balance;
    expect(balance).toBe(2.5);
    expect(valueProblem('int64', balance)).toMatch(/must be an int64/);
  });
});
