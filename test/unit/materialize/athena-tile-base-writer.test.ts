import {
  AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  athenaTileBaseWriter,
  compareEntityKeys,
  EntityGroups,
  typedBaseRow,
} from '../../../lib/materialize/athena-tile-base-writer.ts';
import { plannedOnlineView } from '../../../lib/materialize/materialize-view.ts';
import { renderMaterializationRows } from '../../../lib/materialize/row-source.ts';
import {
  athenaTileBaseRangesRelation,
  s3TileBaseRanges,
  type TileBaseRangesTable,
} from '../../../lib/materialize/tile-base-ranges.ts';
import { AthenaQueryRunner } from '../../../lib/offline/athena-query-runner.ts';
import type { IngestRecord } from '../../../lib/offline/ingest-manifest.ts';
import { viewTileSpec } from '../../../lib/online/aggregation-tiles/view-tile-spec.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { tileRegistry } from '../../helpers/tile-registry.ts';

const registry = tileRegistry();
const { view, planned } = plannedOnlineView(registry, 'spend');
const spec = viewTileSpec(registry, view);
const athena = mockClient(AthenaClient);
const dynamo = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
afterAll(() => {
  athena.restore();
  dynamo.restore();
  s3.restore();
});
beforeEach(() => {
  athena.reset();
  dynamo.reset();
  s3.reset();
});

const record: IngestRecord = {
  ingestId: 'i1',
  source: 'payments',
  file: '/data/payments.jsonl',
  sha256: 'a'.repeat(64),
  rows: 3,
  firstSeq: 1,
  at: '2026-03-01T00:00:00Z',
};

function writer(records: readonly IngestRecord[] = [record], ranges?: TileBaseRangesTable) {
  const runner = new AthenaQueryRunner({
    athena: new AthenaClient({ region: 'eu-west-1' }),
    workgroup: 'fstore-dev',
    database: 'fstore_dev',
    sleep: async () => {},
  });
  const found = athenaTileBaseWriter({
    registry,
    view,
    planned,
    runner,
    dialect: athenaDialect('fstore_dev'),
    records: async () => records,
    ...(ranges ? { ranges } : {}),
    client: new DynamoDBClient({ region: 'eu-west-1' }),
    table: 'fstore-dev-online',
    now: () => Date.parse('2026-03-01T00:00:00Z'),
  });
  if (!found) throw new Error('spend is tile-fed');
  return found;
}

const run = { view: planned, window: { until: '2026-03-01T00:00:00.000000Z' } };

describe('the Athena tile base writer', () => {
  it('is not made for a view without onlineTiles', () => {
    const { onlineTiles: _tiles, ...plain } = view;
    expect(
      athenaTileBaseWriter({
        registry,
        view: plain,
        planned,
        runner: {} as never,
        dialect: athenaDialect('fstore_dev'),
        records: async () => [],
        client: {} as never,
        table: 't',
        now: Date.now,
      }),
    ).toBeUndefined();
  });

  it("refuses a chunk without the run's query, which one query per run needs", async () => {
    await expect(writer().writeEntities([{ customer_id: 'K1' }])).rejects.toThrow(
      /one query per run and need the run's query/,
    );
  });

  it('sends no query for a source without committed rows, nor for an empty chunk', async () => {
    expect(await writer([]).writeEntities([{ customer_id: 'K1' }], run)).toEqual({
      entities: 0,
      itemsWritten: 0,
      itemsAlreadyNewer: 0,
    });
    expect(await writer().writeEntities([], run)).toMatchObject({ entities: 0 });
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });

  it("fails the chunk with Athena's reason when the base query fails, writing no item", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'TABLE_NOT_FOUND' } },
    });
    await expect(writer().writeEntities([{ customer_id: 'K1' }], run)).rejects.toThrow(
      /TABLE_NOT_FOUND/,
    );
    expect(dynamo.calls()).toHaveLength(0);
    const sql = String(
      athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString,
    );
    // The run's own query names the entities; rows up to the newest sequence, ordered by key.
    expect(sql).toContain(') fstore_run) fstore_entities');
    expect(sql).toContain('fstore_seq <= 3');
    expect(sql).toMatch(/ORDER BY "customer_id", fstore_seq$/);
  });
});

describe('tile base rows from Athena text', () => {
  it('types text by the source column (integers past 2^53 exactly) and leaves typed values alone', () => {
    if (!spec) throw new Error('no spec');
    const row = typedBaseRow(view, spec, {
      customer_id: 'K1',
      fstore_t: '1772323200000001',
      fstore_created: null,
      fstore_seq: '1858590286233878528',
      amount: '-0.1',
      status: 'ok',
    });
    expect(row).toEqual({
      customer_id: 'K1',
      fstore_t: 1772323200000001n,
      fstore_created: null,
      fstore_seq: 1858590286233878528n,
      amount: -0.1,
      status: 'ok',
    });
    expect(typedBaseRow(view, spec, { ...row, amount: 2.5 }).amount).toBe(2.5);
  });
});

describe('entity groups of a key-ordered result', () => {
  async function* rows(keys: string[]) {
    for (const [i, key] of keys.entries()) yield { key, i };
  }
  const groupsOf = (keys: string[]) =>
    new EntityGroups(rows(keys)[Symbol.asyncIterator](), (row) => ({
      prefix: String(row.key),
      base: { eventMicros: BigInt(row.i as number), createdMicros: null, seq: 0n, values: {} },
    }));

  it('gives each run of one key as a group, in order, and nothing after the end', async () => {
    const groups = groupsOf(['a', 'a', 'b', 'c', 'c', 'c']);
    expect(await groups.peek()).toBe('a');
    expect((await groups.take()).map((r) => r.eventMicros)).toEqual([0n, 1n]);
    expect(await groups.peek()).toBe('b');
    expect(await groups.take()).toHaveLength(1);
    expect(await groups.take()).toHaveLength(3);
    expect(await groups.peek()).toBeUndefined();
    expect(await groups.take()).toEqual([]);
  });
});

describe('base groups of entities the run did not yield', () => {
  const nowMs = Date.parse('2026-03-01T00:00:00Z');
  const baseRow = (customer: string, seq: number) => ({
    customer_id: customer,
    fstore_t: String(BigInt(nowMs - 3_600_000) * 1000n),
    fstore_created: null,
    fstore_seq: String(seq),
    amount: '2.5',
    status: 'ok',
  });
  function stubbedWriter(baseRows: Record<string, unknown>[]) {
    const found = athenaTileBaseWriter({
      registry,
      view,
      planned,
      runner: {
        run: async () => ({ queryExecutionId: 'q1' }),
        typedRows: async function* () {
          yield* baseRows;
        },
      } as never,
      dialect: athenaDialect('fstore_dev'),
      records: async () => [record],
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      table: 'fstore-dev-online',
      now: () => nowMs,
    });
    if (!found) throw new Error('spend is tile-fed');
    return found;
  }
  const writtenEntities = () =>
    new Set(
      dynamo
        .commandCalls(UpdateItemCommand)
        .map((call) => String(call.args[0].input.Key?.pk?.S))
        .map((key) => /K\d/.exec(key)?.[0]),
    );

  it("passes over an entity an ingest committed after the run's query added, and writes every later entity's base", async () => {
    dynamo.onAnyCommand().resolves({});
    // K2 came with an ingest committed between the run's query and the base query.
    const writer = stubbedWriter([baseRow('K1', 1), baseRow('K2', 4), baseRow('K3', 2)]);
    const counts = await writer.writeEntities([{ customer_id: 'K1' }, { customer_id: 'K3' }], run);
    expect(counts.entities).toBe(2);
    expect([...writtenEntities()].sort()).toEqual(['K1', 'K3']);
  });

  it('passes over the group of an entity key too long for any item (its row was quarantined) and writes the entities after it', async () => {
    dynamo.onAnyCommand().resolves({});
    const tooLong = `K2${'k'.repeat(2100)}`;
    const writer = stubbedWriter([baseRow('K1', 1), baseRow(tooLong, 3), baseRow('K3', 2)]);
    const counts = await writer.writeEntities([{ customer_id: 'K1' }, { customer_id: 'K3' }], run);
    expect(counts.entities).toBe(2);
    expect([...writtenEntities()].sort()).toEqual(['K1', 'K3']);
  });

  it('still refuses base groups of its own entities out of key order', async () => {
    dynamo.onAnyCommand().resolves({});
    const writer = stubbedWriter([baseRow('K3', 2), baseRow('K1', 1)]);
    await expect(
      writer.writeEntities([{ customer_id: 'K1' }, { customer_id: 'K3' }], run),
    ).rejects.toThrow(/another key order/);
  });
});

describe('the key order of the run and base queries', () => {
  it('orders strings by code point, as Trino and DuckDB do, not by UTF-16 unit', () => {
    // U+FF5E sorts before U+1F600 by code point; as UTF-16 the surrogate 0xD83D sorts first.
    expect(compareEntityKeys(['\uff5e'], ['\u{1f600}'])).toBeLessThan(0);
    expect(compareEntityKeys(['\u{1f600}'], ['\uff5e'])).toBeGreaterThan(0);
    expect(compareEntityKeys(['a'], ['a'])).toBe(0);
  });

  it('orders integers by value (not as text) and several keys one after another', () => {
    expect(compareEntityKeys([9n], [10n])).toBeLessThan(0);
    expect(compareEntityKeys([10, 'b'], [10n, 'a'])).toBeGreaterThan(0);
    expect(compareEntityKeys([2, 'a'], [10, 'z'])).toBeLessThan(0);
    expect(() => compareEntityKeys(['1'], [1])).toThrow(/cannot be ordered/);
  });
});

/** `count` S3-style commit records of 3 rows, a minute apart by their writers' clocks. */
function clockRecords(count: number, tiled: (index: number) => boolean): IngestRecord[] {
  const minute = 60_000 * 1_048_576;
  const start = Date.parse('2026-01-01T00:00:00Z') * 1_048_576;
  return Array.from({ length: count }, (_, i) => ({
    ...record,
    ingestId: `i${i}`,
    file: `s3://bucket/push/payments/${i}.jsonl`,
    firstSeq: start + i * minute,
    ...(tiled(i) ? { pushTiledRows: [[0, 3]] as [number, number][] } : {}),
  }));
}

describe('the size of the Athena tile base query', () => {
  it('names the runs of rows not applied to tiles, not the records: 50,000 records, 100 of them batch ingests', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'stop here' } },
    });
    const records = clockRecords(50_000, (i) => i % 500 !== 7);
    await expect(writer(records).writeEntities([{ customer_id: 'K1' }], run)).rejects.toThrow(
      /stop here/,
    );
    const sql = String(
      athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString,
    );
    expect(sql.match(/fstore_seq BETWEEN/g)).toHaveLength(100);
    expect(sql).not.toContain('NOT (');
    const ranges = sql.split('\n').find((line) => line.includes('fstore_seq BETWEEN')) ?? '';
    expect(ranges.length).toBeLessThan(100 * 70);
  });

  it('refuses, before asking Athena, a query whose ranges pass its 262,144 bytes, naming the view, the source and the count', async () => {
    const records = clockRecords(10_000, (i) => i % 2 === 0);
    const failure = writer(records).writeEntities([{ customer_id: 'K1' }], run);
    await expect(failure).rejects.toThrow(
      /the tile base query of view spend \(source payments\), naming 5,000 fstore_seq ranges \(one per ingest of rows not applied to tiles: batch ingests, untiled pushes\), is [\d,]+ bytes of SQL; Athena accepts at most 262,144/,
    );
    await expect(failure).rejects.toMatchObject({
      hint: expect.stringMatching(/fewer, larger ingests/),
    });
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
    expect(dynamo.calls()).toHaveLength(0);
  });
});

describe('the ranges of the Athena tile base query shipped as data', () => {
  const shipped = () =>
    s3TileBaseRanges({
      s3: new S3Client({ region: 'eu-west-1' }),
      bucket: 'fstore-offline',
      relation: (run) => athenaTileBaseRangesRelation('fstore_dev', run),
    });
  const sentSql = async (records: readonly IngestRecord[]) => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'stop here' } },
    });
    s3.on(PutObjectCommand).resolves({});
    await expect(
      writer(records, shipped()).writeEntities([{ customer_id: 'K1' }], run),
    ).rejects.toThrow(/stop here/);
    return String(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString);
  };

  it('ships 5,000 counted ranges to one object of the run and joins its table, naming none in the text', async () => {
    const sql = await sentSql(clockRecords(10_000, (i) => i % 2 === 0));
    const puts = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(puts).toHaveLength(1);
    const key = String(puts[0]?.Key);
    const runId = /^tile-base-ranges\/([0-9a-f-]{36})\/ranges\.csv$/.exec(key)?.[1];
    expect(runId).toBeDefined();
    expect(String(puts[0]?.Body).trim().split('\n')).toHaveLength(5_000);
    expect(sql).toContain(
      `JOIN (SELECT fstore_bucket, fstore_first, fstore_last FROM "fstore_dev"."fstore_tile_base_ranges" WHERE run = '${runId}') fstore_ranges`,
    );
    expect(sql).toContain('BETWEEN fstore_ranges.fstore_first AND fstore_ranges.fstore_last');
    const runSql = renderMaterializationRows(run, athenaDialect('fstore_dev'));
    expect(sql).toContain(runSql);
    expect(sql.replace(runSql, '').length).toBeLessThan(3_000);
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('names up to 1,000 ranges in the text and ships none', async () => {
    const sql = await sentSql(clockRecords(2_000, (i) => i % 2 === 0));
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(sql.match(/fstore_seq BETWEEN/g)).toHaveLength(1_000);
    expect(sql).not.toContain('fstore_ranges');
  });

  it('sends no query when the ranges cannot be shipped', async () => {
    s3.on(PutObjectCommand).rejects(new Error('AccessDenied'));
    const failure = writer(
      clockRecords(2_002, (i) => i % 2 === 0),
      shipped(),
    ).writeEntities([{ customer_id: 'K1' }], run);
    await expect(failure).rejects.toThrow(/AccessDenied/);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});
