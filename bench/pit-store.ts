/**
 * The store `bench:pit` times the CLI against, built as a user builds one: a definitions folder,
 * one input Parquet file per source, one `fstore ingest` of each, and entity files (all rows,
 * and the first 10). The 1-view case reads source `one_0` (all feature rows); the 3-view case
 * reads `three_0..2` (a third each), the split the SQL-only figures use. Kept between runs in
 * `dir`: the input files are reused when present (each written beside and renamed into place);
 * the store is reused only when marked ready (ingests.json, written after its last ingest), and
 * otherwise built again from nothing. The input files are the baselines' "same rows".
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PitBenchSizes } from './pit-data.ts';

export const SMALL_REQUEST_ROWS = 10;

export interface PitCase {
  readonly views: number;
  readonly sources: readonly string[];
}

export const pitCases: readonly PitCase[] = [
  { views: 1, sources: ['one_0'] },
  { views: 3, sources: ['three_0', 'three_1', 'three_2'] },
];

export interface PitStore {
  readonly defs: string;
  readonly dataDir: string;
  /** The Parquet file each source was ingested from. */
  readonly inputs: Readonly<Record<string, string>>;
  /** Entity rows: customer_id, event_timestamp, label. */
  readonly entities: string;
  /** The first SMALL_REQUEST_ROWS rows of `entities`. */
  readonly smallEntities: string;
  /** Files each source's ingest wrote (its one ingest), and the seconds it took. */
  readonly ingests: Readonly<
    Record<string, { files: number; partitions: number; seconds: number }>
  >;
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const cliEntry = path.join(repoRoot, 'bin', 'fstore.mjs');
const yearStart = "TIMESTAMP '2025-01-01 00:00:00'";
const customerId = (entities: number) =>
  `'C' || lpad(CAST(CAST(floor(random() * ${entities}) AS BIGINT) AS VARCHAR), 6, '0')`;

export async function preparePitStore(
  connection: DuckDBConnection,
  dir: string,
  sizes: PitBenchSizes,
  log: (line: string) => void,
): Promise<PitStore> {
  const defs = path.join(dir, 'defs');
  const dataDir = path.join(dir, 'store');
  const inputDir = path.join(dir, 'input');
  await mkdir(inputDir, { recursive: true });
  await writeDefinitions(defs);
  await connection.run('SELECT setseed(0.42)');
  const inputs: Record<string, string> = {};
  for (const { sources } of pitCases) {
    const rows = Math.floor(sizes.featureRows / sources.length);
    for (const source of sources) {
      const file = path.join(inputDir, `${source}.parquet`);
      inputs[source] = file;
      if (await exists(file)) continue;
      await connection.run(`
        COPY (
          SELECT ${customerId(sizes.entities)} AS customer_id,
                 round(random() * 1000, 2) AS value,
                 CAST(floor(random() * 100) AS INTEGER) AS bucket,
                 ${yearStart} + to_microseconds(CAST(floor(random() * 365 * 86400e6) AS BIGINT)) AS event_ts
          FROM range(${rows})
        ) TO '${file}.partial' (FORMAT parquet, COMPRESSION zstd)`);
      await rename(`${file}.partial`, file);
    }
  }
  const entities = path.join(inputDir, 'entities.parquet');
  if (!(await exists(entities))) {
    await connection.run(`
      COPY (
        SELECT ${customerId(sizes.entities)} AS customer_id,
               ${yearStart} + to_microseconds(CAST(floor(random() * 365 * 86400e6) AS BIGINT)) AS event_timestamp,
               CAST(floor(random() * 2) AS INTEGER) AS label
        FROM range(${sizes.entityRows})
      ) TO '${entities}.partial' (FORMAT parquet, COMPRESSION zstd)`);
    await rename(`${entities}.partial`, entities);
  }
  const smallEntities = path.join(inputDir, `entities-${SMALL_REQUEST_ROWS}.csv`);
  if (!(await exists(smallEntities))) {
    await connection.run(
      `COPY (SELECT customer_id, strftime(event_timestamp, '%Y-%m-%dT%H:%M:%S.%fZ') AS event_timestamp, label FROM read_parquet('${entities}') LIMIT ${SMALL_REQUEST_ROWS}) TO '${smallEntities}.partial' (FORMAT csv, HEADER true)`,
    );
    await rename(`${smallEntities}.partial`, smallEntities);
  }
  const ready = await readyStore(dir, dataDir, Object.keys(inputs));
  if (ready) return { defs, dataDir, inputs, entities, smallEntities, ingests: ready };
  // Not marked ready: a run was stopped while ingesting. An ingest it committed would refuse the
  // same file again ("already ingested"), so the store is built again from nothing.
  await rm(dataDir, { recursive: true, force: true });
  const ingests: Record<string, Ingested> = {};
  for (const [source, file] of Object.entries(inputs)) {
    const started = performance.now();
    const output = execFileSync(
      process.execPath,
      [
        cliEntry,
        '--defs',
        defs,
        '--data-dir',
        dataDir,
        'ingest',
        '--source',
        source,
        '--file',
        file,
        '--json',
      ],
      { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const result = JSON.parse(output) as { files: unknown[]; partitions: unknown[] };
    ingests[source] = {
      files: result.files.length,
      partitions: result.partitions.length,
      seconds: (performance.now() - started) / 1000,
    };
    log(
      `fstore ingest --source ${source}: ${result.files.length} files in ${result.partitions.length} day partitions, ${ingests[source].seconds.toFixed(1)} s`,
    );
  }
  // The ready mark, written last and whole: what each ingest wrote.
  const recorded = path.join(dir, readyFile);
  await writeFile(`${recorded}.partial`, JSON.stringify(ingests));
  await rename(`${recorded}.partial`, recorded);
  return { defs, dataDir, inputs, entities, smallEntities, ingests };
}

type Ingested = { files: number; partitions: number; seconds: number };

/** `dir`'s ready mark: every source ingested, as recorded once the last ingest was done. */
const readyFile = 'ingests.json';

/** The ingests of a store marked ready with every source, or undefined. */
async function readyStore(
  dir: string,
  dataDir: string,
  sources: readonly string[],
): Promise<Record<string, Ingested> | undefined> {
  const recorded = path.join(dir, readyFile);
  const ingests = await readFile(recorded, 'utf8')
    .then((text) => JSON.parse(text) as Record<string, Ingested>)
    .catch(() => undefined);
  if (!ingests) return undefined;
  for (const source of sources)
    if (!ingests[source] || !(await exists(path.join(dataDir, 'local', 'offline', source))))
      return undefined;
  return ingests;
}

async function writeDefinitions(defs: string): Promise<void> {
  await mkdir(defs, { recursive: true });
  const definitions = path.join(repoRoot, 'lib', 'definitions', 'index.ts');
  const sources = pitCases.flatMap((c) => c.sources);
  const text = [
    `import { defineEntity, defineFeatureView, defineSource } from ${JSON.stringify(definitions)};`,
    `export const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });`,
    ...sources.flatMap((name) => [
      `export const ${name} = defineSource({ name: '${name}', schema: { customer_id: 'string', value: 'float64', bucket: 'int32', event_ts: 'timestamp' }, timestampField: 'event_ts' });`,
      `export const ${name}_view = defineFeatureView({ name: '${name}_view', entities: [customer], source: ${name}, features: { value: 'float64', bucket: 'int32' }, ttl: '30d' });`,
    ]),
  ].join('\n');
  await writeFile(path.join(defs, 'package.json'), '{ "type": "module" }\n');
  await writeFile(path.join(defs, 'bench.ts'), `${text}\n`);
}

/** The `--features` arguments of a case: every feature of each of its views. */
export function featureRefs(pitCase: PitCase): string[] {
  return pitCase.sources.map((source) => `${source}_view:*`);
}

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined)) !== undefined;
}
