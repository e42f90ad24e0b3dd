import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineEntity, defineFeatureView, defineSource } from '../lib/definitions/index.ts';
import { openDuckdb } from '../lib/offline/duckdb-session.ts';
import { ingestFile } from '../lib/offline/ingest.ts';
import { writeManifest } from '../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../lib/offline/local-layout.ts';
import { compileRegistry, type Registry } from '../lib/registry/index.ts';

export const benchEnv = 'local';
export const benchConcurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: {
    customer_id: 'string',
    score: 'int64',
    plan: 'string',
    spend: 'float64',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});

/** One online view of three features, with constraints the materializer checks per row. */
export function benchRegistry(): Registry {
  return compileRegistry(
    [
      customer,
      profiles,
      defineFeatureView({
        name: 'profile',
        entities: [customer],
        source: profiles,
        features: {
          score: { type: 'int64', min: 0, max: 1000 },
          plan: { type: 'string', allowedValues: ['basic', 'plus', 'pro'] },
          spend: 'float64',
        },
        ttl: '365d',
        online: true,
        schedule: 'rate(1 hour)',
      }),
    ].map((definition) => ({ definition })),
  );
}

/** The id the bench's base data is committed under, named like an ingest's. */
const baseIngestId = '20260301t000000-0000be4c';

/**
 * `rows` entities, one row each over 30 days before 2026-03-01, written with DuckDB (seeded) and
 * committed as one ingest (`_ingests.jsonl`), as `fstore ingest` would leave them.
 */
export async function writeBenchSource(dataDir: string, rows: number): Promise<void> {
  const root = offlineRoot(dataDir, benchEnv);
  const target = path.join(root, 'profiles');
  if (await stat(target).catch(() => undefined)) return;
  const partial = `${target}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(path.dirname(partial), { recursive: true });
  const session = await openDuckdb();
  try {
    await session.connection.run('SELECT setseed(0.42)');
    await session.connection.run(`
      COPY (
        SELECT *, strftime(event_ts, '%Y-%m-%d') AS dt FROM (
          SELECT 'C' || lpad(CAST(i AS VARCHAR), 7, '0') AS customer_id,
                 CAST(floor(random() * 1000) AS BIGINT) AS score,
                 (['basic', 'plus', 'pro'])[1 + CAST(floor(random() * 3) AS INTEGER)] AS plan,
                 round(random() * 1000, 2) AS spend,
                 TIMESTAMP '2026-01-30 00:00:00' + to_microseconds(CAST(floor(random() * 30 * 86400e6) AS BIGINT)) AS event_ts,
                 CAST(i AS BIGINT) AS fstore_seq
          FROM range(${rows}) t(i)
        )
      ) TO '${partial}' (FORMAT parquet, PARTITION_BY (dt), FILENAME_PATTERN '${baseIngestId}-{i}', COMPRESSION zstd)`);
  } finally {
    session.close();
  }
  const files: string[] = [];
  for (const partition of (await readdir(partial)).sort())
    for (const file of (await readdir(path.join(partial, partition))).sort())
      files.push(path.join('profiles', partition, file));
  await rename(partial, target);
  await writeManifest(
    root,
    [
      {
        ingestId: baseIngestId,
        source: 'profiles',
        file: 'bench-base',
        sha256: '0'.repeat(64),
        rows,
        firstSeq: 0,
        at: new Date().toISOString(),
        files,
      },
    ],
    'bench',
  );
}

/**
 * Ingests `rows` rows through `fstore ingest`'s code: 90 % new values of existing entities
 * dated in the hour after the full run, 10 % late ones dated in the 30 days before it.
 */
export async function ingestBenchRows(dataDir: string, entities: number, rows: number) {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const entity = Math.floor((i * 7919) % entities);
    const late = i % 10 === 0;
    const at = late
      ? materializeAt - 1000 - ((i * 104_729) % (30 * 86_400_000))
      : materializeAt + 1000 + ((i * 3_571) % 3_590_000);
    lines.push(
      JSON.stringify({
        customer_id: `C${String(entity).padStart(7, '0')}`,
        score: i % 1001,
        plan: ['basic', 'plus', 'pro'][i % 3],
        spend: (i % 100_000) / 100,
        event_ts: new Date(at).toISOString(),
      }),
    );
  }
  const file = path.join(dataDir, `bench-ingest-${rows}.jsonl`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return ingestFile({
    registry: benchRegistry(),
    dataDir,
    env: benchEnv,
    source: 'profiles',
    file,
    allowDuplicate: true,
  });
}

export const materializeAt = Date.parse('2026-03-01T00:00:00Z');
