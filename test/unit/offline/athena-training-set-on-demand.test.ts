import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { writeAthenaResultFile } from '../../../lib/offline/athena-result-file.ts';
import { getTrainingSetOnAthena } from '../../../lib/offline/athena-training-set.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { monthlyProfile } from '../../helpers/monthly-profile.ts';

const { profile } = monthlyProfile();
const ratio = defineOnDemandView({
  name: 'rev_ratio',
  request: { basket: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { ratio: 'float64' },
  transform: (row) => ({ ratio: row.monthly ? row.basket / row.monthly : null }),
});
const registry = compileRegistry([
  { definition: defineFeatureService({ name: 'checkout', features: [profile, ratio] }) },
]);

const sqls: string[] = [];
const runner = {
  run: async (sql: string) => {
    sqls.push(sql);
    return { queryExecutionId: 'q1', dataScannedBytes: 1 };
  },
} as never;

/** S3 as the training set sees it: uploads accepted, one result part to list and download. */
function s3Holding(part: Uint8Array) {
  return {
    send: async (command: object) => {
      const kind = command.constructor.name;
      if (kind === 'ListObjectsV2Command')
        return { Contents: [{ Key: 'training-sets/checkout/r1/part-0.parquet' }] };
      if (kind === 'GetObjectCommand') return { Body: { transformToByteArray: async () => part } };
      return {};
    },
  } as never;
}

/** A result part as Athena UNLOADs it: rows out of order, the hidden input beside the features. */
async function resultPart(dir: string): Promise<Uint8Array> {
  const file = path.join(dir, 'made-part.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(
    `COPY (SELECT * FROM (VALUES ('2', 'C1', TIMESTAMP '2026-03-01 00:00:00', 50.0::DOUBLE, 50.0::DOUBLE), ('1', 'C2', TIMESTAMP '2026-03-01 00:00:00', NULL, NULL)) t(row_key, customer_id, event_timestamp, monthly, fstore_in_0)) TO '${file}' (FORMAT parquet)`,
  );
  connection.closeSync();
  return new Uint8Array(await readFile(file));
}

describe('training sets of a service with on-demand features on AWS (fstore training-set --env dev)', () => {
  it('UNLOAD the on-demand inputs too, then compute the features from the downloaded parts and the entity file’s request values', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'athena-od-'));
    const entities = path.join(dir, 'entities.csv');
    await writeFile(
      entities,
      'customer_id,event_timestamp,basket\nC2,2026-03-01T00:00:00Z,30\nC1,2026-03-01T00:00:00Z,10\n',
    );
    sqls.length = 0;
    const result = await getTrainingSetOnAthena({
      registry,
      service: 'checkout',
      entities,
      bucket: 'b',
      database: 'd',
      downloadDir: dir,
      requestId: 'r1',
      runner,
      s3: s3Holding(await resultPart(dir)),
    });
    expect(sqls[0]).toMatch(/AS "fstore_in_0"/);
    const out = path.join(dir, 'out.parquet');
    await writeAthenaResultFile({
      registry,
      service: 'checkout',
      files: result.files,
      entities,
      timestampColumn: 'event_timestamp',
      out,
    });
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const read = await connection.runAndReadAll(`SELECT * FROM read_parquet('${out}')`);
    expect(read.columnNames()).toEqual([
      'row_key',
      'customer_id',
      'event_timestamp',
      'monthly',
      'basket',
      'ratio',
    ]);
    expect(
      read.getRowObjectsJS().map((r) => [r.row_key, r.customer_id, r.basket, r.ratio]),
    ).toEqual([
      ['1', 'C2', 30, null],
      ['2', 'C1', 10, 0.2],
    ]);
    connection.closeSync();
  });

  it('refuse an entity file without the request column, naming it, and write nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'athena-od-'));
    const entities = path.join(dir, 'entities.csv');
    await writeFile(entities, 'customer_id,event_timestamp\nC1,2026-03-01T00:00:00Z\n');
    const part = path.join(dir, 'part.parquet');
    await writeFile(part, await resultPart(dir));
    const out = path.join(dir, 'out.parquet');
    const written = writeAthenaResultFile({
      registry,
      service: 'checkout',
      files: [part],
      entities,
      timestampColumn: 'event_timestamp',
      out,
    });
    await expect(written).rejects.toThrow(/no column "basket" \(float64\)/);
    expect(existsSync(out)).toBe(false);
  });

  it('keep an existing --out file when a row fails, naming the row', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'athena-od-'));
    const entities = path.join(dir, 'entities.csv');
    await writeFile(
      entities,
      'customer_id,event_timestamp,basket\nC2,2026-03-01T00:00:00Z,lots\nC1,2026-03-01T00:00:00Z,10\n',
    );
    const part = path.join(dir, 'part.parquet');
    await writeFile(part, await resultPart(dir));
    const out = path.join(dir, 'out.parquet');
    await writeFile(out, 'yesterday’s training set');
    const written = writeAthenaResultFile({
      registry,
      service: 'checkout',
      files: [part],
      entities,
      timestampColumn: 'event_timestamp',
      out,
    });
    await expect(written).rejects.toThrow(/entity row 1, column basket .*"lots"/);
    expect(await readFile(out, 'utf8')).toBe('yesterday’s training set');
    expect((await readdir(dir)).filter((f) => f.includes('.fstore-'))).toEqual([]);
  });
});
