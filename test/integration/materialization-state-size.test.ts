import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import type { CommittedIngest, IngestLog } from '../../lib/materialize/ingest-coverage.ts';
import { stateKey } from '../../lib/materialize/materialization-state.ts';
import { materializeView } from '../../lib/materialize/materialize-view.ts';
import type { LatestRowsQuery, RowSource } from '../../lib/materialize/row-source.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { itemSizeBytes, maxItemBytes } from '../../lib/online/online-writer.ts';
import { hourlyProfileRegistry } from '../helpers/hourly-profile-registry.ts';

const registry = hourlyProfileRegistry({ score: 'int64' }, { score: 'int64' });
const keyPrefix = registry.featureViews[0]?.onlineStore.keyPrefix as string;

const m = Date.parse('2026-03-01T00:00:00Z');
const dayMs = 86_400_000;
const dayOf = (i: number) => new Date(m - i * dayMs).toISOString().slice(0, 10);

/** S3-like commit records (numbers from the clock), `count` of them within `spanMs` before `at`. */
function s3Ingests(count: number, at: number, spanMs: number, daysEach: number): CommittedIngest[] {
  return Array.from({ length: count }, (_, i) => ({
    ingestId: `20260301t${String(i).padStart(6, '0')}-${i.toString(16).padStart(8, '0')}`,
    firstSeq: (at - spanMs + Math.floor((i * spanMs) / count)) * 1_048_576,
    rows: 10,
    committedAtMs: at - spanMs + Math.floor((i * spanMs) / count),
    days: Array.from({ length: daysEach }, (_, d) => dayOf((i * 7 + d) % 4_000)),
  }));
}

describe('the materialization state item stays under DynamoDB 400 KB item limit (dynalite)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  let tables = 0;

  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  async function runWith(snapshots: (readonly CommittedIngest[])[], times: number[]) {
    const table = `fstore-size${tables++}-online`;
    await ensureLocalTable(client, table);
    const queries: LatestRowsQuery[] = [];
    const source: RowSource = {
      async *latestRows(query) {
        queries.push(query);
        yield* []; // no rows: only the state is measured
      },
    };
    const sizes: number[] = [];
    for (const [index, snapshot] of snapshots.entries()) {
      const ingests: IngestLog = { committedIngests: async () => snapshot };
      const result = await materializeView({
        registry,
        view: 'profile',
        client,
        table,
        source,
        ingests,
        quarantine: () => ({ location: 'nowhere', add: () => {}, flush: async () => {} }),
        now: () => times[index] as number,
      });
      expect(result.status).toBe('succeeded');
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: table,
          Key: { pk: { S: stateKey(keyPrefix) } },
          ConsistentRead: true,
        }),
      );
      sizes.push(itemSizeBytes(Item ?? {}));
    }
    return { sizes, queries };
  }

  it('grows by the ingests of the last settle period only, and is capped when they are many', async () => {
    const at = m + 3_600_000;
    // A first run over 1, 1,000 and 20,000 ingests committed within the settle period (10
    // minutes): every one of them is named in the state.
    const growth: number[] = [];
    for (const count of [1, 1_000, 20_000]) {
      const { sizes } = await runWith([s3Ingests(count, at, 5 * 60_000, 1)], [at]);
      growth.push(sizes[0] as number);
    }
    console.log(`state item bytes after a run seeing 1 / 1,000 / 20,000 recent ingests: ${growth}`);
    expect(growth[2]).toBeLessThan(maxItemBytes / 4);
  });

  it('stays under the limit when an incremental run reads thousands of ingests over thousands of days', async () => {
    const at = m + 3_600_000;
    const old = s3Ingests(10, m - dayMs, 60_000, 1);
    const recent = s3Ingests(20_000, at, 5 * 60_000, 5);
    const { sizes, queries } = await runWith([old, [...old, ...recent]], [m, at]);
    console.log(`state item bytes: first run ${sizes[0]}, incremental run ${sizes[1]}`);
    expect(sizes[1]).toBeLessThan(maxItemBytes / 4);
    // Too many partitions to name: the run reads by sequence ranges alone (fewer rows pruned,
    // the same rows read).
    const filter = queries[1]?.window.newIngests;
    expect(filter?.days).toBeUndefined();
    expect(filter?.seqRanges.length).toBeLessThanOrEqual(50);
  });
});
