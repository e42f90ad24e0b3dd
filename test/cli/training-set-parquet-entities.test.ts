import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { contentHashOf } from '../../lib/offline/canonical-rows.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

// A Parquet entity file is read while the definitions load (lib/offline/entity-preload.ts):
// the command must give what it gives for the same rows as CSV, and report a bad file or bad
// definitions as before, leaving nothing behind.
const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', monthly: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const profile = defineFeatureView({
  name: 'profile', entities: [customer], source: profiles, features: { monthly: 'float64' }, ttl: '30d',
});
`;

let work: string;
let args: string[];
let csvEntities: string;

/** Writes the rows of `sql` to `<work>/<name>.parquet`. */
async function parquet(name: string, sql: string): Promise<string> {
  const file = path.join(work, `${name}.parquet`);
  const session = await openDuckdb();
  try {
    await session.connection.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
  } finally {
    session.close();
  }
  return file;
}

beforeAll(async () => {
  work = await makeTempDir('ts-parquet-entities');
  const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('ts-parquet-defs'));
  args = ['--defs', defsDir, '--data-dir', path.join(work, '.fstore')];
  const rows = path.join(work, 'profiles.csv');
  await writeFile(
    rows,
    'customer_id,monthly,event_ts\nC1,50,2026-03-01T00:00:00Z\nC2,70,2026-03-02T00:00:00Z\nC1,55,2026-03-05T00:00:00Z\n',
  );
  const ingest = await runFstore([...args, 'ingest', '--source', 'profiles', '--file', rows]);
  expect(ingest.code, ingest.stderr).toBe(0);
  csvEntities = path.join(work, 'entities.csv');
  await writeFile(
    csvEntities,
    'customer_id,event_timestamp,label\nC1,2026-03-04T00:00:00Z,1\nC2,2026-03-10T00:00:00Z,0\nC1,2026-03-06T00:00:00Z,1\nC3,2026-03-06T00:00:00Z,0\n',
  );
}, 240_000);

const trainingSet = (entities: string, out: string, defsArgs = args) =>
  runFstore([
    ...defsArgs,
    'training-set',
    '--features',
    'profile:*',
    '--entities',
    entities,
    '--out',
    out,
  ]);

describe('fstore training-set with a Parquet entity file', () => {
  it('writes the rows the same entity rows give as CSV, and a manifest with their content hash', async () => {
    const entities = await parquet(
      'entities',
      `SELECT customer_id, CAST(event_timestamp AS TIMESTAMP) AS event_timestamp, label FROM read_csv('${csvEntities}')`,
    );
    const dir = await makeTempDir('ts-parquet-out');
    const fromParquet = path.join(dir, 'parquet.parquet');
    const fromCsv = path.join(dir, 'csv.parquet');
    const built = await trainingSet(entities, fromParquet);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toContain('4 rows × 4 columns');
    expect((await trainingSet(csvEntities, fromCsv)).code).toBe(0);
    const hash = await contentHashOf(fromParquet);
    expect(hash).toBe(await contentHashOf(fromCsv));
    const manifest = JSON.parse(await readFile(path.join(dir, 'parquet.manifest.json'), 'utf8'));
    expect(manifest.output.contentHash.sha256).toBe(hash);
    expect(manifest.entities.file).toBe(entities);
  });

  it('reports an unusable row of the file as the entity load does, and writes nothing', async () => {
    const entities = await parquet(
      'bad-entities',
      `SELECT * FROM (VALUES ('C1', TIMESTAMP '2026-03-04', 1), ('C2', NULL, 0)) t(customer_id, event_timestamp, label)`,
    );
    const dir = await makeTempDir('ts-parquet-bad');
    const result = await trainingSet(entities, path.join(dir, 'out.parquet'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'entity file bad-entities.parquet has rows that cannot be used:\n  row 2, column event_timestamp: empty value',
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a reserved column name of the file, and a missing file, as before', async () => {
    const reserved = await parquet(
      'reserved',
      `SELECT 'C1' AS customer_id, TIMESTAMP '2026-03-04' AS event_timestamp, 1 AS fstore_label`,
    );
    const dir = await makeTempDir('ts-parquet-reserved');
    const result = await trainingSet(reserved, path.join(dir, 'out.parquet'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('entity file reserved.parquet has column "fstore_label"');
    const missing = await trainingSet(path.join(work, 'nope.parquet'), path.join(dir, 'o.parquet'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `entity file ${path.join(work, 'nope.parquet')} does not exist`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports definitions that do not compile while the file is being read, and exits', async () => {
    const entities = await parquet(
      'many-entities',
      `SELECT 'C' || (i % 100) AS customer_id, TIMESTAMP '2026-03-04' + to_seconds(i) AS event_timestamp, 1 AS label FROM range(200000) t(i)`,
    );
    const broken = await writeDefs(
      { 'defs.ts': `${defs}\nexport const bad = defineFeatureView({ name: 'bad' });\n` },
      await makeTempDir('ts-parquet-broken-defs'),
    );
    const dir = await makeTempDir('ts-parquet-broken');
    const result = await trainingSet(entities, path.join(dir, 'out.parquet'), [
      '--defs',
      broken,
      '--data-dir',
      path.join(work, '.fstore'),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('feature view "bad"');
    expect(readdirSync(dir)).toEqual([]);
  });
});
