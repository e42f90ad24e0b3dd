import { BatchGetItemCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { plannedOnlineView } from '../../../lib/materialize/materialize-view.ts';
import type { ShardTileProgress } from '../../../lib/materialize/shard-plan.ts';
import {
  type ShardTileBasesOptions,
  writeShardTileBases,
} from '../../../lib/materialize/shard-tile-bases.ts';
import type { IngestRecord } from '../../../lib/offline/ingest-manifest.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { tileRegistry } from '../../helpers/tile-registry.ts';

const registry = tileRegistry();
const { view, planned } = plannedOnlineView(registry, 'spend');
const dynamo = mockClient(DynamoDBClient);
afterAll(() => dynamo.restore());
beforeEach(() => {
  dynamo.reset();
  // No entity has a stored base: each new base is written, then its token.
  dynamo.on(BatchGetItemCommand).resolves({ Responses: {} });
  dynamo.on(UpdateItemCommand).resolves({});
});

const now = Date.parse('2026-03-01T00:00:00Z');
const record: IngestRecord = {
  ingestId: 'i1',
  source: 'payments',
  file: '/data/payments.jsonl',
  sha256: 'a'.repeat(64),
  rows: 9,
  firstSeq: 1,
  at: '2026-03-01T00:00:00Z',
};

/** A base row as Athena's result gives it (text); `seq` null: an entity without base rows. */
const row = (customer: string, seq: number | null) =>
  seq === null
    ? { customer_id: customer, fstore_t: null, fstore_created: null, fstore_seq: null }
    : {
        customer_id: customer,
        fstore_t: String((now - 60_000 * seq) * 1000),
        fstore_created: null,
        fstore_seq: String(seq),
        amount: String(seq + 0.5),
        status: 'ok',
      };

function shard(
  rows: Record<string, unknown>[],
  extra: Partial<ShardTileBasesOptions> = {},
  records: readonly IngestRecord[] = [record],
) {
  const queries: string[] = [];
  const checkpoints: ShardTileProgress[] = [];
  const result = writeShardTileBases({
    registry,
    view,
    planned,
    window: { until: '2026-03-01T00:00:00.000000Z' },
    shard: { index: 1, count: 4 },
    runner: {
      run: async (sql: string) => {
        queries.push(sql);
        return { queryExecutionId: `q${queries.length}` };
      },
      typedRows: async function* () {
        yield* rows;
      },
    } as never,
    dialect: athenaDialect('fstore_dev'),
    records: async () => records,
    client: new DynamoDBClient({ region: 'eu-west-1' }),
    table: 'fstore-dev-online',
    now: () => now,
    progress: undefined,
    chunkEntities: 2,
    checkpoint: async (progress) => {
      checkpoints.push(progress);
    },
    ...extra,
  });
  return { result, queries, checkpoints };
}

/** The item keys the writes went to, by entity. */
const writtenEntities = () =>
  new Set(
    dynamo
      .commandCalls(UpdateItemCommand)
      .map((call) => /customer_id=([^|]+)/.exec(call.args[0].input.Key?.pk?.S ?? '')?.[1]),
  );

describe('the tile base phase of a shard of a sharded AWS run', () => {
  it('writes nothing and sends no query when its checkpoint says its bases are done', async () => {
    const done = { done: true, entities: 5, itemsWritten: 9, itemsAlreadyNewer: 0 };
    const { result, queries, checkpoints } = shard([row('K1', 1)], { progress: done });
    expect(await result).toEqual({ status: 'done', progress: done });
    expect(queries).toEqual([]);
    expect(checkpoints).toEqual([]);
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('is done with no query when the source has no committed row', async () => {
    const { result, queries, checkpoints } = shard([row('K1', 1)], {}, []);
    expect(await result).toMatchObject({ status: 'done', progress: { done: true, entities: 0 } });
    expect(queries).toEqual([]);
    expect(checkpoints).toEqual([
      { done: true, entities: 0, itemsWritten: 0, itemsAlreadyNewer: 0 },
    ]);
  });

  it('queries only its shard’s entities after its checkpoint key, every entity of them, and checkpoints each chunk at its last key', async () => {
    const { result, queries, checkpoints } = shard(
      [row('K1', 1), row('K1', 2), row('K2', null), row('K3', 3)],
      {
        progress: {
          done: false,
          afterKey: ['K0'],
          entities: 1,
          itemsWritten: 4,
          itemsAlreadyNewer: 0,
        },
      },
    );
    const outcome = await result;
    expect(queries).toHaveLength(1);
    const sql = queries[0] ?? '';
    expect(sql).toContain(') % 4 = 1');
    expect(sql).toContain(`("customer_id" > 'K0')`);
    expect(sql).toContain('RIGHT JOIN (SELECT DISTINCT "customer_id"');
    expect(checkpoints.map((c) => [c.afterKey, c.entities, c.done])).toEqual([
      [['K2'], 3, false],
      [['K3'], 4, false],
      [['K3'], 4, true],
    ]);
    expect(outcome).toMatchObject({ status: 'done', progress: { done: true, entities: 4 } });
    // K2 (no base row, no stored base) costs a read and no write.
    expect(writtenEntities()).toEqual(new Set(['K1', 'K3']));
    expect(outcome.progress.itemsWritten).toBeGreaterThan(4);
  });

  it('stops at a checkpoint when asked (near the timeout), its entities written first', async () => {
    const { result, checkpoints } = shard(
      [row('K1', 1), row('K2', 2), row('K3', 3), row('K4', 4)],
      { shouldPause: () => true },
    );
    expect(await result).toMatchObject({
      status: 'paused',
      progress: { done: false, afterKey: ['K2'], entities: 2 },
    });
    expect(checkpoints).toHaveLength(1);
    expect(writtenEntities()).toEqual(new Set(['K1', 'K2']));
  });

  it('passes over an entity whose key fits no item (its row was quarantined), moving its checkpoint past it', async () => {
    const long = `K${'x'.repeat(3000)}`;
    const { result, checkpoints } = shard([row('K1', 1), row(long, 2), row(long, 3)]);
    expect(await result).toMatchObject({ status: 'done', progress: { entities: 2 } });
    expect(checkpoints[0]?.afterKey).toEqual([long]);
    expect(writtenEntities()).toEqual(new Set(['K1']));
  });
});
