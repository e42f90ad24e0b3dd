import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { loadEntities } from '../../lib/offline/load-entities.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import {
  estimateLocalScan,
  type LocalScanEstimate,
} from '../../lib/offline/local-scan-estimate.ts';
import type { ViewReadOptions } from '../../lib/offline/view-reads.ts';
import { onDemandInputsOfRequest } from '../../lib/on-demand/plan-on-demand.ts';
import {
  type FeatureRequest,
  planPointInTime,
  requiredJoinKeys,
} from '../../lib/sql/point-in-time-plan.ts';
import type { offlineFixture } from './offline-fixture.ts';

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;

/** What `fstore training-set --dry-run` would list for `entities` (event_timestamp) and `request`. */
export async function fixtureDryRun(
  fixture: Fixture,
  entities: readonly Record<string, unknown>[],
  request: FeatureRequest,
  options: ViewReadOptions = {},
): Promise<LocalScanEstimate> {
  const plan = planPointInTime(fixture.registry, request, {
    entityTimestampColumn: 'event_timestamp',
    extraFeatures: onDemandInputsOfRequest(fixture.registry, request),
  });
  const session = await openDuckdb();
  try {
    const loaded = await loadEntities(session.connection, await fixture.writeJsonl(entities), {
      timestampColumn: 'event_timestamp',
      joinKeys: requiredJoinKeys(plan),
    });
    return await estimateLocalScan(
      session.connection,
      offlineRoot(fixture.dataDir, 'local'),
      plan,
      loaded,
      options,
    );
  } finally {
    session.close();
  }
}

/** The Parquet files a training set's SQL names, each once, sorted. */
export function parquetFilesIn(sql: string): string[] {
  return [...new Set([...sql.matchAll(/'([^']+\.parquet)'/g)].map((m) => m[1] ?? ''))].sort();
}
