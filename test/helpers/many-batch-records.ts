import type { Prng } from '../../lib/demo/prng.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { putSyntheticIngestRecords } from './synthetic-ingest-records.ts';
import type { tileEnvironment } from './tile-materialization-environment.ts';
import { minute, rowsBetween } from './tile-payment-rows.ts';

/**
 * Batch-ingested and pushed (compacted) payments up to `at` in the local store, and beside
 * their records in the bucket `records` more commit records of batch ingests numbered as on
 * S3, above the store's: their rows are not in the store, their ranges are counted in every
 * tile base query (one each, past the 1,000 a query names in its text).
 */
export async function ingestBesideBatchRecords(
  env: Awaited<ReturnType<typeof tileEnvironment>>,
  prng: Prng,
  at: bigint,
  objects: Map<string, Buffer>,
  records: number,
): Promise<void> {
  const taken = new Set<string>();
  await env.fixture.ingest('payments', rowsBetween(prng, at - 2n * 1440n * minute, at, 9, taken));
  await env.push(at, rowsBetween(prng, at - 20n * minute, at, 6, taken));
  await compactPushLogs({
    registry: env.fixture.registry,
    dataDir: env.fixture.dataDir,
    env: 'local',
  });
  await env.fixture.ingest('payments', rowsBetween(prng, at - 60n * minute, at, 5, taken));
  putSyntheticIngestRecords(objects, 0, records, 1);
}
