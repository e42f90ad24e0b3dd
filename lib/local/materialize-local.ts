import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { openDuckdb, queryRows } from '../offline/duckdb-session.ts';
import { offlineRoot } from '../offline/local-layout.ts';
import { writeOnlineRows } from '../online/online-writer.ts';
import type { Registry } from '../registry/index.ts';
import { duckdbDialect } from '../sql/duckdb-dialect.ts';
import { planPointInTime } from '../sql/point-in-time-plan.ts';
import { renderLatestPerEntity } from '../sql/render-latest.ts';

export interface ViewMaterialization {
  readonly view: string;
  readonly rows: number;
  readonly written: number;
  readonly skippedAsOlder: number;
}

/**
 * A full backfill of every online view: the newest offline row per entity up to `until`,
 * written with the online store's conditional writer. Reads each view's result at once, which
 * suits local data; scheduled, windowed, streaming materialization is a later step.
 */
export async function materializeLocal(options: {
  registry: Registry;
  dataDir: string;
  env: string;
  client: DynamoDBClient;
  table: string;
  until?: Date;
  views?: readonly string[];
}): Promise<ViewMaterialization[]> {
  const until = (options.until ?? new Date()).toISOString();
  const dialect = duckdbDialect(offlineRoot(options.dataDir, options.env));
  const session = await openDuckdb();
  try {
    const results: ViewMaterialization[] = [];
    for (const view of options.registry.featureViews.filter(
      (v) => v.online && (!options.views || options.views.includes(v.name)),
    )) {
      const plan = planPointInTime(
        options.registry,
        { features: [`${view.name}:*`] },
        { entityTimestampColumn: 'fstore_unused' },
      );
      const planned = plan.views[0];
      if (!planned) continue;
      let rows: Record<string, unknown>[];
      try {
        rows = await queryRows(
          session.connection,
          renderLatestPerEntity(planned, dialect, { until }),
        );
      } catch (error) {
        if (String((error as Error).message).includes('No files found')) {
          results.push({ view: view.name, rows: 0, written: 0, skippedAsOlder: 0 });
          continue;
        }
        throw error;
      }
      const written = await writeOnlineRows(
        options.client,
        options.table,
        view,
        rows.map((row) => ({ values: row, eventTs: row.event_ts, createdTs: row.created_ts })),
      );
      results.push({ view: view.name, rows: rows.length, ...written });
    }
    return results;
  } finally {
    session.close();
  }
}
