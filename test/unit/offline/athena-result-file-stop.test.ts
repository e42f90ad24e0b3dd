import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { writeAthenaResultFile } from '../../../lib/offline/athena-result-file.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { monthlyProfile } from '../../helpers/monthly-profile.ts';

const rows = 20_000;
// The transform asks to stop on its first call: the stop lands mid-query, deterministically.
let stopDuringTransform: AbortController | undefined;

const { profile } = monthlyProfile();
const ratio = defineOnDemandView({
  name: 'rev_ratio',
  request: { basket: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { ratio: 'float64' },
  transform: (row) => {
    stopDuringTransform?.abort(new Error('stop requested'));
    return { ratio: row.monthly ? row.basket / row.monthly : null };
  },
});
const registry = compileRegistry([
  { definition: defineFeatureService({ name: 'checkout', features: [profile, ratio] }) },
]);

/** An entity file and an Athena result part of `rows` rows each. */
async function downloadedResult(dir: string): Promise<{ entities: string; part: string }> {
  const entities = path.join(dir, 'entities.csv');
  const lines = ['customer_id,event_timestamp,basket'];
  for (let i = 1; i <= rows; i++) lines.push(`C1,2026-03-01T00:00:00Z,${i}`);
  await writeFile(entities, `${lines.join('\n')}\n`);
  const part = path.join(dir, 'part.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(
    `COPY (SELECT CAST(i AS VARCHAR) AS row_key, 'C1' AS customer_id, TIMESTAMP '2026-03-01 00:00:00' AS event_timestamp, 50.0::DOUBLE AS monthly, 50.0::DOUBLE AS fstore_in_0 FROM range(1, ${rows + 1}) t(i)) TO '${part}' (FORMAT parquet)`,
  );
  connection.closeSync();
  instance.closeSync();
  return { entities, part };
}

describe('writing an Athena training set’s result file, stopped by its AbortSignal', () => {
  it('rejects with the signal’s reason when stopped while the on-demand transforms run, and leaves no --out file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'athena-stop-'));
    const { entities, part } = await downloadedResult(dir);
    const out = path.join(dir, 'out.parquet');
    stopDuringTransform = new AbortController();
    try {
      const written = writeAthenaResultFile({
        registry,
        service: 'checkout',
        files: [part],
        entities,
        timestampColumn: 'event_timestamp',
        out,
        signal: stopDuringTransform.signal,
      });
      await expect(written).rejects.toThrow('stop requested');
    } finally {
      stopDuringTransform = undefined;
    }
    expect(existsSync(out)).toBe(false);
  });

  it('writes every row while its signal is not aborted', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'athena-stop-'));
    const { entities, part } = await downloadedResult(dir);
    const out = path.join(dir, 'out.parquet');
    await writeAthenaResultFile({
      registry,
      service: 'checkout',
      files: [part],
      entities,
      timestampColumn: 'event_timestamp',
      out,
      signal: new AbortController().signal,
    });
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const read = await connection.runAndReadAll(
      `SELECT count(*) AS n, count(ratio) AS ratios FROM read_parquet('${out}')`,
    );
    expect(read.getRowObjectsJS()).toEqual([{ n: BigInt(rows), ratios: BigInt(rows) }]);
    connection.closeSync();
    instance.closeSync();
  });
});
