import { renderAthenaLatest } from '../../lib/materialize/athena-row-source.ts';
import { renderMaterializationRows } from '../../lib/materialize/row-source.ts';
import { athenaTileBaseRangesRelation } from '../../lib/materialize/tile-base-ranges.ts';
import { renderTrainingSetUnload } from '../../lib/offline/athena-training-set.ts';
import { viewDrift } from '../../lib/quality/drift.ts';
import { viewStatistics } from '../../lib/quality/feature-stats.ts';
import type { QueryRows } from '../../lib/quality/query-engine.ts';
import { validateViewData } from '../../lib/quality/validate-data.ts';
import { athenaOfflineValues } from '../../lib/quality/verify-online.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { athenaDialect } from '../../lib/sql/athena-dialect.ts';
import { renderServiceRequestSql } from '../../lib/sql/athena-service-query.ts';
import { planPointInTime, requiredJoinKeys } from '../../lib/sql/point-in-time-plan.ts';
import { renderTileBaseRows } from '../../lib/sql/render-tile-base-rows.ts';
import type { NamedStatement } from './trino-grammar.ts';

export const athenaDatabase = 'fstore_dev';

/**
 * Answers fstore's quality queries the way Athena would shape them, with values that make every
 * branch issue its follow-up queries: deciles (negative, fractional, exponent-written), category
 * values with a quote, and a violation of every rule (so each rule's example query is sent).
 */
function plausibleRows(sql: string): Record<string, unknown>[] {
  if (sql.includes(' AS edges ')) return [{ edges: [-1.5, 0, 2.25, 1e21, 3e-7, null] }];
  if (sql.includes(' AS value FROM ')) return [{ value: 'north' }, { value: "o'brien" }];
  if (sql.startsWith('SELECT count(*) AS fstore_rows, ')) {
    const checks = [...sql.matchAll(/AS "(check_\d+)"/g)].map((m) => [m[1], 1]);
    return [{ fstore_rows: 10, ...Object.fromEntries(checks) }];
  }
  return [{ n: 10, present: 9, distinct_values: 3, bin: 0 }];
}

/** A QueryRows that records each statement under the name of the step that sent it. */
function recordingQuery(statements: NamedStatement[], name: string): QueryRows {
  let index = 0;
  return async (sql) => {
    statements.push({ name: `${name} #${++index}`, sql });
    return plausibleRows(sql);
  };
}

/** A sample key value of a join key type, with a quote in strings to exercise literal quoting. */
const sampleKey = (type: string, n: number) => (type === 'string' ? `C'${n}` : n * 1_000_003);

/**
 * Every statement fstore sends to Athena for the views and services of `registry`, produced by
 * the code that sends them (the offline I/O replaced by a recorder): each service's prepared
 * statement and its training-set UNLOAD; per view the materialization queries (first run,
 * run by lateness, incremental run with and without new ingests, backfill, each also resumed
 * after a key) and verify-online's inline-VALUES training set; per passthrough view the stats,
 * drift and validate-data queries.
 */
export async function athenaStatements(registry: Registry): Promise<NamedStatement[]> {
  const dialect = athenaDialect(athenaDatabase);
  const statements: NamedStatement[] = [];
  for (const service of registry.featureServices) {
    statements.push({
      name: `prepared statement of service ${service.name}`,
      sql: renderServiceRequestSql(registry, service.name, athenaDatabase),
    });
    statements.push({
      name: `training-set UNLOAD of service ${service.name}`,
      sql: renderTrainingSetUnload({
        registry,
        service: service.name,
        database: athenaDatabase,
        requestId: 'r20260301t101500',
        entityTimeRange: { min: '2026-02-01T00:00:00Z', max: '2026-03-01T10:15:00.000001Z' },
        location: `s3://fstore-dev-bucket/training-sets/${service.name}/r20260301t101500/`,
      }),
    });
  }
  for (const view of registry.featureViews) {
    const plan = planPointInTime(
      registry,
      { features: [`${view.name}:*`] },
      { entityTimestampColumn: 'event_timestamp' },
    );
    const [planned] = plan.views;
    if (!planned) throw new Error(`no planned view for ${view.name}`);
    const windows = {
      'first run': { until: '2026-03-01T10:00:00.000300Z' },
      'run by lateness': { after: '2026-02-28T10:00:00Z', until: '2026-03-01T10:00:00Z' },
      'incremental run': {
        after: '2026-03-01T09:00:00Z',
        until: '2026-03-01T10:00:00Z',
        newIngests: {
          seqRanges: [
            ['1000', '1999'],
            ['1858417692672000000', '1858417692672000999'],
          ] as const,
          days: ['2026-02-27', '2026-03-01'],
        },
      },
      'incremental run with nothing new': {
        after: '2026-03-01T09:00:00Z',
        until: '2026-03-01T10:00:00Z',
        newIngests: { seqRanges: [] },
      },
      backfill: { from: '2026-01-01T00:00:00Z', until: '2026-03-01T10:00:00Z' },
    };
    const afterKey = planned.joinKeys.map((k, i) => sampleKey(k.type, i + 1));
    for (const [run, window] of Object.entries(windows)) {
      statements.push({
        name: `materialization of view ${view.name}, ${run}`,
        sql: renderAthenaLatest({ view: planned, window }, dialect),
      });
      statements.push({
        name: `materialization of view ${view.name}, ${run}, resumed`,
        sql: renderAthenaLatest({ view: planned, window, afterKey }, dialect),
      });
    }
    if (view.transform === 'aggregation') {
      // The tile base query of the AWS materializer: the run's entities, by its own query.
      const source = registry.sources.find((s) => s.name === view.source);
      const columns = Object.fromEntries(
        (view.aggregations ?? []).map((a) => [
          a.column,
          source?.schema.find((c) => c.name === a.column)?.type ?? 'float64',
        ]),
      );
      const tileBase = (shard?: { index: number; count: number }, shipped?: true) =>
        renderTileBaseRows(planned, dialect, {
          // Counted ranges shipped as data (past a thousand): joined from their Glue table.
          ...(shipped
            ? {
                countedRangesRelation: athenaTileBaseRangesRelation(
                  'fstore_dev',
                  '0f6c5b6e-8a8e-4f4b-9a51-2d3c4b5a6978',
                ),
              }
            : {}),
          entities: {
            sql: renderMaterializationRows(
              {
                view: planned,
                window: windows['incremental run'],
                afterKey,
                ...(shard ? { shard } : {}),
              },
              dialect,
            ),
          },
          // A sharded run's shard: also one row for each entity without base rows.
          ...(shard ? { everyEntity: true } : {}),
          afterMicros: 1772323200000001n,
          maxSeq: 1858417692672000999n,
          includedSeqRanges: [
            [1n, 1999n],
            [1858417692672000000n, 1858417692672000999n],
          ],
          excludedSeqRanges: [
            [5n, 5n],
            [1000n, 1999n],
          ],
          columns,
        });
      statements.push({
        name: `tile base of view ${view.name}, incremental run, resumed`,
        sql: tileBase(),
      });
      statements.push({
        name: `tile base of view ${view.name}, shard 3 of 8 of an incremental run, resumed`,
        sql: tileBase({ index: 3, count: 8 }),
      });
      statements.push({
        name: `tile base of view ${view.name}, ranges shipped as data`,
        sql: tileBase(undefined, true),
      });
      statements.push({
        name: `tile base of view ${view.name}, shard 3 of 8, ranges shipped as data`,
        sql: tileBase({ index: 3, count: 8 }, true),
      });
    }
    const keys = requiredJoinKeys(plan);
    const entities = [1, 2, 3].map((n) => ({
      ...Object.fromEntries(keys.map((k) => [k.name, sampleKey(k.type, n)])),
      event_timestamp: `2026-03-0${n}T10:00:00.00000${n}Z`,
    }));
    await athenaOfflineValues(
      registry,
      recordingQuery(statements, `verify-online of view ${view.name}`),
      dialect,
    )(view.name, entities);

    if (view.transform !== 'passthrough') continue;
    const common = { dialect, registry, view: view.name };
    await viewStatistics({
      ...common,
      query: recordingQuery(statements, `stats of view ${view.name}`),
      range: { start: '2026-03-01', end: '2026-03-31T23:59:59.999999Z' },
    });
    await viewDrift({
      ...common,
      query: recordingQuery(statements, `drift of view ${view.name}`),
      baseline: { start: '2026-02-01', end: '2026-02-28' },
      current: { start: '2026-03-01' },
    });
    await validateViewData({
      ...common,
      query: recordingQuery(statements, `validate-data of view ${view.name}`),
      end: '2026-03-31',
    });
  }
  return statements;
}
