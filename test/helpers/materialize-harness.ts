import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import type { CommittedIngest, IngestLog } from '../../lib/materialize/ingest-coverage.ts';
import {
  type MaterializationState,
  MaterializationStateStore,
} from '../../lib/materialize/materialization-state.ts';
import type {
  QuarantinedRow,
  QuarantineRun,
  QuarantineSink,
} from '../../lib/materialize/quarantine.ts';
import type { LatestRowsQuery, RowSource } from '../../lib/materialize/row-source.ts';
import { compileRegistry, type Registry } from '../../lib/registry/index.ts';

/**
 * What materializeView needs besides DynamoDB, in memory: a registry with one constrained online
 * view, a row source that yields given rows in join-key order (after a resume key) and records
 * the queries it gets, a quarantine that keeps its rows, and an ingest log with a set snapshot.
 */

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const events = defineSource({
  name: 'events',
  schema: { customer_id: 'string', score: 'int64', tier: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});

/** View `profile`: score in 0..100 (the constraints may be left out), tier, TTL 30 days. */
export function profileRegistry(
  options: { constrained?: boolean; quality?: { minRows?: number; maxNullPercent?: number } } = {},
): Registry {
  const constrained = options.constrained ?? true;
  return compileRegistry([
    {
      definition: defineFeatureView({
        name: 'profile',
        entities: [customer],
        source: events,
        features: {
          score: constrained ? { type: 'int64', min: 0, max: 100 } : 'int64',
          tier: 'string',
        },
        ttl: '30d',
        online: true,
        schedule: 'rate(1 hour)',
        ...(options.quality ? { quality: options.quality } : {}),
      }),
    },
    {
      definition: defineFeatureView({
        name: 'offline_only',
        entities: [customer],
        source: events,
        features: { score: 'int64' },
      }),
    },
  ]);
}

export function keyPrefixOf(registry: Registry, view = 'profile'): string {
  const found = registry.featureViews.find((v) => v.name === view);
  if (!found) throw new Error(`view ${view} missing`);
  return found.onlineStore.keyPrefix;
}

export function stateOf(
  client: DynamoDBClient,
  table: string,
  registry: Registry,
): Promise<MaterializationState> {
  return new MaterializationStateStore(client, table, keyPrefixOf(registry)).read();
}

export interface RecordingSource extends RowSource {
  readonly queries: LatestRowsQuery[];
}

/**
 * Yields `rows` (sorted by customer_id) after the query's resume key, in batches of `batch`;
 * `failAfter` throws once that many rows were yielded, as an engine failing mid-stream would.
 */
export function arraySource(
  rows: readonly Record<string, unknown>[],
  options: { batch?: number; failAfter?: number; count?: boolean } = {},
): RecordingSource {
  const queries: LatestRowsQuery[] = [];
  const sorted = [...rows].sort((a, b) =>
    String(a.customer_id).localeCompare(String(b.customer_id)),
  );
  const after = (query: LatestRowsQuery) =>
    sorted.filter(
      (row) => query.afterKey === undefined || String(row.customer_id) > String(query.afterKey[0]),
    );
  const source: RecordingSource = {
    queries,
    async *latestRows(query) {
      queries.push(query);
      const left = after(query);
      const size = options.batch ?? 100;
      for (let i = 0; i < left.length; i += size) {
        if (options.failAfter !== undefined && i >= options.failAfter)
          throw new Error('engine failed mid-stream');
        yield left.slice(i, i + size);
      }
    },
  };
  if (options.count) return { ...source, countLatest: async (query) => after(query).length };
  return source;
}

export interface MemoryQuarantine {
  readonly runs: QuarantineRun[];
  readonly rows: QuarantinedRow[];
  /** Rows made durable, counted at each flush. */
  readonly flushed: number[];
  sink(run: QuarantineRun): QuarantineSink;
}

export function memoryQuarantine(): MemoryQuarantine {
  const quarantine: MemoryQuarantine = {
    runs: [],
    rows: [],
    flushed: [],
    sink(run) {
      quarantine.runs.push(run);
      return {
        location: `memory://${run.view}/${run.runId}`,
        add: (rows) => {
          quarantine.rows.push(...rows);
        },
        flush: async () => {
          quarantine.flushed.push(quarantine.rows.length);
        },
      };
    },
  };
  return quarantine;
}

export interface RecordingIngestLog extends IngestLog {
  snapshot: readonly CommittedIngest[];
  readonly calls: { source: string; covered: unknown }[];
  failure?: Error;
}

/** Sequence numbers in commit order, as the local store hands them out. */
export function ingestLog(snapshot: readonly CommittedIngest[]): RecordingIngestLog {
  const log: RecordingIngestLog = {
    seqInCommitOrder: true,
    snapshot,
    calls: [],
    async committedIngests(source, covered) {
      log.calls.push({ source, covered });
      if (log.failure) throw log.failure;
      return log.snapshot;
    },
  };
  return log;
}
