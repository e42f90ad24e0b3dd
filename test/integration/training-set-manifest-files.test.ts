import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { CSV_ROWS_HASH, contentHashOf } from '../../lib/offline/canonical-rows.ts';
import { splitCsvLine } from '../../lib/offline/training-set-diff.ts';
import {
  manifestPathFor,
  readTrainingSetManifest,
  type TrainingSetManifest,
  writeTrainingSetManifest,
} from '../../lib/offline/training-set-manifest.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const rowsSql = `SELECT * FROM (VALUES ('A', TIMESTAMPTZ '2026-03-10 00:00:00.123456+00', 1.5, NULL), ('B, "quoted"', TIMESTAMPTZ '2026-03-11 00:00:00+00', -2.0, 7)) t(customer_id, event_timestamp, score, n)`;

async function copyTo(file: string, options: string, sql = rowsSql) {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (${sql}) TO '${file}' (${options})`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const manifest: TrainingSetManifest = {
  format: 1,
  fstoreVersion: '0.1.0',
  createdAt: '2026-03-10T00:00:00.000Z',
  env: 'local',
  registryVersion: 'abc',
  request: { service: 'churn_v1' },
  fullFeatureNames: false,
  entities: {
    file: '/data/entities.csv',
    sha256: 'a'.repeat(64),
    timestampColumn: 'event_timestamp',
  },
  sources: { orders: { maxSeq: 12, ingestIds: ['20260310t000000-0a1b2c3d'] } },
  strategy: {
    engine: 'duckdb',
    pointInTime: 'asof',
    aggregations: 'auto',
    onTransformError: 'fail',
  },
  output: {
    file: 'churn.parquet',
    format: 'parquet',
    rows: 2,
    columns: ['customer_id'],
    contentHash: { algorithm: 'sha256-of-rows-as-csv-v1', sha256: 'b'.repeat(64) },
  },
};

describe('the content hash of a training set', () => {
  it('is the same for the same rows whatever the Parquet writer options, and v1 the same as the CSV output', async () => {
    const dir = await makeTempDir('content-hash');
    const zstd = path.join(dir, 'a.parquet');
    const snappy = path.join(dir, 'b.parquet');
    const csv = path.join(dir, 'c.csv');
    await copyTo(zstd, 'FORMAT parquet, COMPRESSION zstd');
    await copyTo(snappy, 'FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 1');
    await copyTo(csv, "FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%fZ'");
    const hash = await contentHashOf(zstd);
    expect(await readFile(zstd)).not.toEqual(await readFile(snappy));
    expect(await contentHashOf(snappy)).toBe(hash);
    // v1 (still verified for older manifests, and what CSV outputs record): the CSV's own bytes.
    const v1 = await contentHashOf(zstd, CSV_ROWS_HASH);
    expect(v1).not.toBe(hash);
    expect(await contentHashOf(snappy, CSV_ROWS_HASH)).toBe(v1);
    expect(await contentHashOf(csv)).toBe(v1);
    expect((await readdir(dir)).sort()).toEqual(['a.parquet', 'b.parquet', 'c.csv']);
  });

  it('changes with one value, and with the row order', async () => {
    const dir = await makeTempDir('content-hash');
    const base = path.join(dir, 'a.parquet');
    const changed = path.join(dir, 'b.parquet');
    const reordered = path.join(dir, 'c.parquet');
    await copyTo(base, 'FORMAT parquet');
    await copyTo(changed, 'FORMAT parquet', rowsSql.replace('1.5', '1.25'));
    await copyTo(reordered, 'FORMAT parquet', `${rowsSql} ORDER BY customer_id DESC`);
    const hash = await contentHashOf(base);
    expect(await contentHashOf(changed)).not.toBe(hash);
    expect(await contentHashOf(reordered)).not.toBe(hash);
  });
});

describe('training set manifest files', () => {
  it('sit beside the output as <name>.manifest.json', () => {
    expect(manifestPathFor('/data/churn.parquet')).toBe('/data/churn.manifest.json');
    expect(manifestPathFor('out/features.v2.csv')).toBe('out/features.v2.manifest.json');
  });

  it('are written whole and read back, leaving no temporary file', async () => {
    const dir = await makeTempDir('manifest');
    const file = path.join(dir, 'churn.manifest.json');
    await writeTrainingSetManifest(file, manifest);
    await writeTrainingSetManifest(file, { ...manifest, createdAt: '2026-03-11T00:00:00.000Z' });
    expect(await readTrainingSetManifest(file)).toEqual({
      ...manifest,
      createdAt: '2026-03-11T00:00:00.000Z',
    });
    expect(await readdir(dir)).toEqual(['churn.manifest.json']);
  });

  it('are refused, naming the file and the field, when missing, not JSON, of a newer format or with a bad field', async () => {
    const dir = await makeTempDir('manifest');
    const file = path.join(dir, 'x.manifest.json');
    await expect(readTrainingSetManifest(file)).rejects.toThrow(
      `cannot read the manifest ${file}: ENOENT`,
    );
    await writeFile(file, '{"format": 1');
    await expect(readTrainingSetManifest(file)).rejects.toThrow(`the manifest ${file} is not JSON`);
    await writeFile(file, JSON.stringify({ ...manifest, format: 2 }));
    await expect(readTrainingSetManifest(file)).rejects.toThrow(
      'has format 2; this fstore reads format 1',
    );
    await writeFile(
      file,
      JSON.stringify({ ...manifest, entities: { ...manifest.entities, sha256: 'xyz' } }),
    );
    await expect(readTrainingSetManifest(file)).rejects.toThrow('is not valid: entities.sha256');
    await writeFile(
      file,
      JSON.stringify({ ...manifest, request: { service: 'a', features: ['b:c'] } }),
    );
    await expect(readTrainingSetManifest(file)).rejects.toThrow('is not valid: request');
    const hashed = (algorithm: string) =>
      JSON.stringify({
        ...manifest,
        output: { ...manifest.output, contentHash: { algorithm, sha256: 'b'.repeat(64) } },
      });
    await writeFile(file, hashed('sha256-of-rows-as-csv-v3'));
    await expect(readTrainingSetManifest(file)).rejects.toThrow(
      'is not valid: output.contentHash.algorithm',
    );
    await writeFile(file, hashed('sha256-of-typed-columns-v2'));
    expect((await readTrainingSetManifest(file)).output.contentHash.algorithm).toBe(
      'sha256-of-typed-columns-v2',
    );
    expect(existsSync(file)).toBe(true);
  });

  it('are refused when the output is not a plain file name beside the manifest', async () => {
    const file = path.join(await makeTempDir('manifest'), 'x.manifest.json');
    for (const name of ['../../elsewhere.parquet', '/tmp/x.parquet', 'sub/x.parquet', '..', '']) {
      await writeFile(
        file,
        JSON.stringify({ ...manifest, output: { ...manifest.output, file: name } }),
      );
      await expect(readTrainingSetManifest(file), name).rejects.toThrow(
        'is not valid: output.file: a file name beside the manifest, without folders',
      );
    }
  });
});

describe('splitCsvLine', () => {
  it('splits DuckDB CSV fields, quoted commas and doubled quotes included', () => {
    expect(splitCsvLine('A,"B, ""q""",,1')).toEqual(['A', 'B, "q"', '', '1']);
  });
});
