import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { defineEntity, defineFeatureView, defineSource } from '../lib/definitions/index.ts';
import { openDuckdb } from '../lib/offline/duckdb-session.ts';
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

/** `rows` entities, one row each over 30 days before 2026-03-01, written with DuckDB (seeded). */
export async function writeBenchSource(dataDir: string, rows: number): Promise<void> {
  const target = path.join(offlineRoot(dataDir, benchEnv), 'profiles');
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
      ) TO '${partial}' (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)`);
  } finally {
    session.close();
  }
  await rename(partial, target);
}

export const materializeAt = Date.parse('2026-03-01T00:00:00Z');
